/**
 * Rapier (`@dimforge/rapier3d-compat`) loaded on first use: importing it and initialising its WebAssembly costs
 * about 0.25 s of a command's start-up, and the default validation needs it only for mesh hulls (geometry.ts)
 * and for self-collision queries when two shapes come close (selfcollision.ts). A robot of primitive shapes
 * whose parts never come near each other is validated without loading it.
 */
import type RAPIER from '@dimforge/rapier3d-compat';

export type Rapier = typeof RAPIER;

let loaded: Rapier | null = null;
let loading: Promise<Rapier> | null = null;

/** Rapier's module with its WebAssembly initialised (imported and initialised once per process). */
export function loadRapier(): Promise<Rapier> {
  if (!loading) {
    loading = import('@dimforge/rapier3d-compat').then(async (m) => {
      await m.default.init();
      loaded = m.default;
      return m.default;
    });
  }
  return loading;
}

/** The module once loadRapier() has resolved; throws before, naming what was asked for. */
export function rapier(what: string): Rapier {
  if (!loaded) throw new Error(`${what} needs Rapier: await loadRapier() first`);
  return loaded;
}
