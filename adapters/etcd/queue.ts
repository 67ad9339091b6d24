// A descriptor's queue and grants as one process last saw them, and the grant
// rule that decides who may hold. Pure: nothing here talks to etcd; locks.ts
// feeds it what ranges and watches return and turns its answers into
// transactions, whose compares make a stale view safe (it can only cost a
// round trip, never grant twice).
import type { HolderInfo } from "../backend.ts";
import type { ServerEntryValue } from "../server-held.ts";
import type { KeyValue, WatchEvent } from "./client.ts";

export type { HolderInfo };

/** The JSON value of a queue entry (and, with slot and acquiredAt, of a grant). */
export interface EntryValue extends ServerEntryValue {
  /** The slot a request would like (a preference, not a requirement). */
  preferredSlot?: number;
  slot?: number;
  acquiredAt?: number;
  /** The grant's fence (decimal), once the holder rewrote its record; until then the grant key's mod revision. */
  fence?: string;
}

export interface QueueEntry {
  lease: string;
  createRevision: bigint;
  /** Equal to createRevision until the entry is granted (every grant rewrites it). */
  modRevision: bigint;
  value: EntryValue | undefined;
}

/** The shape of a request, as far as the grant rule cares. */
export interface Shape {
  maxHolders: number;
  shared: boolean;
}

export function parseEntry(kv: KeyValue): QueueEntry {
  let value: EntryValue | undefined;
  try {
    const parsed = JSON.parse(kv.value) as EntryValue;
    if (parsed && parsed.v === 1) value = parsed;
  } catch {
    value = undefined; // not ours, or damaged: listed as such, counted as a holder to stay safe
  }
  return { lease: kv.key.slice(kv.key.lastIndexOf("/") + 1), createRevision: kv.createRevision, modRevision: kv.modRevision, value };
}

/** The fence of a grant key: recorded in its value once rewritten, else the revision that wrote it. */
export function fenceOf(kv: KeyValue): bigint {
  const v = parseEntry(kv).value;
  return v?.fence !== undefined && /^[0-9]+$/.test(v.fence) ? BigInt(v.fence) : kv.modRevision;
}

/** grantable says whether a request could be granted with these entries queued ahead of it. */
export function grantable(req: Shape, ahead: Iterable<QueueEntry>): boolean {
  let count = 0;
  for (const e of ahead) {
    if (req.shared ? e.value?.mode !== "shared" : true) count++;
    if (req.shared ? count > 0 : count >= req.maxHolders) return false;
  }
  return true;
}

/** disagreement names the first entry whose shape contradicts req (a usage error), if any. */
export function disagreement(req: Shape & { descriptor: string }, entries: Iterable<QueueEntry>): string | undefined {
  const what = (m: number) => (m === 1 ? "a mutex" : `a semaphore of ${m}`);
  for (const e of entries) {
    const v = e.value;
    if (v && v.maxHolders !== req.maxHolders) {
      return `${req.descriptor} is held or awaited as ${what(v.maxHolders)} (by PID ${v.pid} on ${v.host}), not ${what(req.maxHolders)}`;
    }
  }
  return undefined;
}

/**
 * QueueView: the keys of one descriptor (base ends with "/"), kept up to date
 * from a watch. Queue entries stay in arrival order: a range sorted by create
 * revision fills it, and a watch only ever adds newer entries at the end.
 */
export class QueueView {
  readonly #q: string;
  readonly #slots: string;
  readonly #reads: string;
  readonly #doneKey: string;
  readonly #entries = new Map<string, QueueEntry>();
  /** Grant key → its key-value (lease, revisions, record). */
  readonly #grants = new Map<string, KeyValue>();
  /** The revision this view is complete up to. */
  revision: bigint;
  /** The last --done request, while it lasts. */
  done: KeyValue | undefined;

  constructor(base: string, kvs: KeyValue[], revision: bigint) {
    this.#q = `${base}q/`;
    this.#slots = `${base}slot/`;
    this.#reads = `${base}read/`;
    this.#doneKey = `${base}done`;
    this.revision = revision;
    for (const kv of kvs) this.#put(kv);
  }

  /** reset replaces everything with a fresh read (after a watch broke). */
  reset(kvs: KeyValue[], revision: bigint): void {
    this.#entries.clear();
    this.#grants.clear();
    this.done = undefined;
    this.revision = revision;
    for (const kv of kvs) this.#put(kv);
  }

  #put(kv: KeyValue): void {
    if (kv.key.startsWith(this.#q)) {
      const e = parseEntry(kv);
      this.#entries.set(e.lease, e); // a rewrite keeps its place
    } else if (kv.key.startsWith(this.#slots) || kv.key.startsWith(this.#reads)) {
      this.#grants.set(kv.key, kv);
    } else if (kv.key === this.#doneKey) {
      this.done = kv;
    }
  }

  apply(events: WatchEvent[], revision: bigint): void {
    for (const e of events) {
      if (e.type === "PUT") this.#put(e.kv);
      else if (e.kv.key.startsWith(this.#q)) this.#entries.delete(e.kv.key.slice(this.#q.length));
      else if (e.kv.key === this.#doneKey) this.done = undefined;
      else this.#grants.delete(e.kv.key);
    }
    if (revision > this.revision) this.revision = revision;
  }

  entries(): QueueEntry[] {
    return [...this.#entries.values()];
  }

  entry(lease: string): QueueEntry | undefined {
    return this.#entries.get(lease);
  }

  /** The entries queued before lease's own (all of them if it has none). */
  ahead(lease: string): QueueEntry[] {
    const out: QueueEntry[] = [];
    for (const e of this.#entries.values()) {
      if (e.lease === lease) break;
      out.push(e);
    }
    return out;
  }

  /** The slot numbers held. */
  taken(): Set<number> {
    const out = new Set<number>();
    for (const key of this.#grants.keys()) if (key.startsWith(this.#slots)) out.add(Number(key.slice(this.#slots.length)));
    return out;
  }

  /** The grant key held on lease, if any. */
  grantOf(lease: string): KeyValue | undefined {
    for (const kv of this.#grants.values()) if (kv.lease === lease) return kv;
    return undefined;
  }

  /**
   * successors: the waiting entries a release by releaser lets through —
   * grantable without the releaser and not with it. Entries already grantable
   * claim by themselves; an entry that is not ours stops the walk (it claims
   * by itself too, and so do those behind it).
   */
  successors(releaser: string): QueueEntry[] {
    const me = this.#entries.get(releaser);
    if (!me) return [];
    const holding = new Set([...this.#grants.values()].map((kv) => kv.lease));
    const ahead: QueueEntry[] = [];
    const out: QueueEntry[] = [];
    let behind = false;
    for (const e of this.#entries.values()) {
      if (e === me) {
        behind = true;
        continue;
      }
      if (!behind) {
        ahead.push(e);
        continue;
      }
      if (!e.value) break;
      const shape = { maxHolders: e.value.maxHolders, shared: e.value.mode === "shared" };
      if (!grantable(shape, ahead)) break; // nor is anyone behind it
      const waiting = !holding.has(e.lease) && e.modRevision === e.createRevision;
      if (waiting && !grantable(shape, [...ahead, me])) out.push(e);
      ahead.push(e);
    }
    return out;
  }
}
