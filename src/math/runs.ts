/** [first, last] frames of every run of set frames in a mask that is at least minFrames long. */
export function intervals(mask: ArrayLike<number>, minFrames = 1): [number, number][] {
  const out: [number, number][] = [];
  const T = mask.length;
  for (let t = 0; t < T; ) {
    if (!mask[t]) { t++; continue; }
    let e = t;
    while (e + 1 < T && mask[e + 1]) e++;
    if (e - t + 1 >= minFrames) out.push([t, e]);
    t = e + 1;
  }
  return out;
}
