/**
 * ZAP (ZeroMQ Authentication Protocol, RFC 27) handler: decides which CURVE clients may complete their
 * handshake. libzmq asks the handler bound at `inproc://zeromq.zap.01` of the socket's context, so there is
 * one handler per process; each server registers its own ZAP domain with its allow-list of public keys.
 * A client whose key is not listed is refused at the handshake and never reaches the server socket.
 */
import { Router } from 'zeromq';
import { z85Encode } from './keys.ts';

export interface ZapEvent {
  domain: string;
  address: string;
  mechanism: string;
  publicKey: string | null;
  allowed: boolean;
}

interface Domain {
  allow: Set<string>;
  onDecision?: (e: ZapEvent) => void;
}

const domains = new Map<string, Domain>();
let router: Router | null = null;
let running: Promise<void> | null = null;

async function serve(r: Router): Promise<void> {
  try {
    for await (const f of r) {
      // [routing id, empty, version, request id, domain, address, identity, mechanism, credentials...]
      const [rid, empty, version, requestId, domainB, addressB, , mechanismB, cred] = f;
      const domain = domainB ? domainB.toString() : '';
      const mechanism = mechanismB ? mechanismB.toString() : '';
      const d = domains.get(domain);
      const key = mechanism === 'CURVE' && cred && cred.length === 32 ? z85Encode(cred) : null;
      const allowed = !!d && key !== null && d.allow.has(key);
      d?.onDecision?.({ domain, address: addressB ? addressB.toString() : '', mechanism, publicKey: key, allowed });
      const ok = version && version.toString() === '1.0';
      await r.send([
        rid, empty, '1.0', requestId ?? '',
        ok && allowed ? '200' : '400',
        ok && allowed ? 'OK' : 'key not allowed',
        allowed && key ? key : '', '',
      ]);
    }
  } catch {
    /* socket closed */
  }
}

/** Register (or replace) a ZAP domain's allow-list, starting the process's handler on first use. */
export async function registerZapDomain(domain: string, allow: Iterable<string>, onDecision?: (e: ZapEvent) => void): Promise<void> {
  domains.set(domain, { allow: new Set(allow), onDecision });
  if (!router) {
    router = new Router({ linger: 0 });
    await router.bind('inproc://zeromq.zap.01');
    running = serve(router);
  }
}

/** Forget a domain; the handler stops when no domain is left. */
export async function unregisterZapDomain(domain: string): Promise<void> {
  domains.delete(domain);
  if (domains.size === 0 && router) {
    const r = router;
    router = null;
    r.close();
    await running;
    running = null;
  }
}
