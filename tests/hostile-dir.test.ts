// A hostile lock directory, generated with fast-check: garbage named like slot
// files, truncated and bit-flipped records (real ones, made by the library, then
// damaged), empty and huge files, directories, FIFOs, unix sockets, symlinks and
// hard links to files outside the directory named like slot files, records claiming other hosts, files this user may not
// read or write, and held slots whose records were damaged under their holders.
// The library (in this process, many cases) and bin/waitlock --list (every
// format), --check, acquire and doctor (real processes, as root and as an
// unprivileged user) must never crash, never hang, never report a corrupt record
// as a holder, never follow a symlink, never change a file outside the lock
// directory (content or mode) through a link, and say exactly what a model of the
// directory predicts. Runs: WAITLOCK_HOSTILE_RUNS (library, default 150) and
// WAITLOCK_HOSTILE_CLI_RUNS (bin/waitlock, default 12).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  chmodSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:net";
import { hostname } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { acquire, check, list, waitlock, type Lock, type LockInfo } from "../adapters/node/index.ts";
import type { WaitlockError } from "../adapters/errors.ts";
import { LockType } from "../adapters/wasm-core.ts";
import { tempDir, WAITLOCK, runCli, cannotRunAs } from "./helpers.ts";

const NOBODY = 65534;
const IS_ROOT = process.getuid?.() === 0;
const HUGE_BYTES = 3 * 1024 * 1024;
const DOCUMENTED_EXITS = new Set([0, 1, 2, 3, 4, 5, 6, 75]);

// ---- the generated directory ----

type Entry =
  | { k: "missing" | "valid" | "foreign" | "empty" | "dir" | "fifo" | "socket" | "held" | "held-foreign" }
  | { k: "symlink-file" | "symlink-dangling" | "symlink-dir" }
  | { k: "noperm" | "readonly" | "writeonly" }
  | { k: "truncated"; keep: number }
  | { k: "bitflip"; bits: number[] }
  | { k: "garbage" | "held-garbage"; bytes: Uint8Array }
  | { k: "huge"; head: "record" | "garbage" }
  /** A hard link to a file outside the directory (a real record, or text), of that mode. */
  | { k: "hardlink"; record: boolean; mode: number };

interface DescCase {
  max: number;
  /** One entry per slot, 0 … max-1, sometimes one more beyond the semaphore. */
  slots: Entry[];
  /** Garbage in a file named like a shared holder's reader record. */
  reader?: Uint8Array;
}

interface DirCase {
  descs: DescCase[];
  /** Files whose names look like slot files but whose "descriptor" is not one. */
  junk: { name: string; bytes: Uint8Array }[];
}

const bytesArb = fc.uint8Array({ minLength: 1, maxLength: 600 });
const entryArb: fc.Arbitrary<Entry> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom<Entry>({ k: "missing" }, { k: "held" }, { k: "valid" }) },
  { weight: 1, arbitrary: fc.constantFrom<Entry>({ k: "foreign" }, { k: "empty" }, { k: "held-foreign" }) },
  { weight: 2, arbitrary: fc.constantFrom<Entry>({ k: "dir" }, { k: "fifo" }, { k: "socket" }) },
  { weight: 2, arbitrary: fc.constantFrom<Entry>({ k: "symlink-file" }, { k: "symlink-dangling" }, { k: "symlink-dir" }) },
  { weight: 2, arbitrary: fc.constantFrom<Entry>({ k: "noperm" }, { k: "readonly" }, { k: "writeonly" }) },
  { weight: 2, arbitrary: fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true }).map((keep) => ({ k: "truncated" as const, keep })) },
  // At most three distinct bits: CRC-32 detects every such error in a record this short.
  { weight: 2, arbitrary: fc.uniqueArray(fc.nat({ max: 8 * 400 }), { minLength: 1, maxLength: 3 }).map((bits) => ({ k: "bitflip" as const, bits })) },
  { weight: 2, arbitrary: bytesArb.map((bytes) => ({ k: "garbage" as const, bytes })) },
  { weight: 1, arbitrary: bytesArb.map((bytes) => ({ k: "held-garbage" as const, bytes })) },
  { weight: 1, arbitrary: fc.constantFrom<Entry>({ k: "huge", head: "record" }, { k: "huge", head: "garbage" }) },
  { weight: 2, arbitrary: fc.record({ record: fc.boolean(), mode: fc.constantFrom(0o600, 0o666) }).map((h) => ({ k: "hardlink" as const, ...h })) },
);
const descArb: fc.Arbitrary<DescCase> = fc.integer({ min: 1, max: 3 }).chain((max) =>
  fc.record({
    max: fc.constant(max),
    slots: fc.array(entryArb, { minLength: max, maxLength: max + 1 }),
    reader: fc.option(bytesArb, { nil: undefined }),
  }),
);
const junkNameArb = fc.constantFrom("two words", "tab\there", "esc\x1b[31mred", "bell\x07", "ünïcode", "semi;colon", `${"x".repeat(200)}!`);
const dirArb: fc.Arbitrary<DirCase> = fc.record({
  descs: fc.array(descArb, { minLength: 1, maxLength: 3 }),
  junk: fc.array(fc.record({ name: junkNameArb, bytes: bytesArb }), { maxLength: 2 }),
});

// ---- the model: what each entry means to a user ----

type User = "root" | "nobody";
type AcquireView = "take" | "busy" | "ENODIR" | "EPERM";

const NON_REGULAR = new Set(["dir", "fifo", "socket", "symlink-file", "symlink-dangling", "symlink-dir"]);
const HELD = new Set(["held", "held-garbage", "held-foreign"]);
const PERMS: Record<string, number> = { noperm: 0o000, readonly: 0o444, writeonly: 0o222 };

/** othersMayWrite: whether the unprivileged user (uid nobody) may open a root-made file read-write. */
function othersMayWrite(mode: number): boolean {
  return !IS_ROOT || (mode & 0o006) === 0o006;
}

function acquireView(e: Entry, u: User): AcquireView {
  if (e.k === "missing") return "take";
  if (HELD.has(e.k)) return "busy";
  if (NON_REGULAR.has(e.k)) return "ENODIR";
  if (u === "nobody" && e.k in PERMS) return "EPERM";
  if (e.k === "hardlink") return u === "nobody" && !othersMayWrite(e.mode) ? "EPERM" : "ENODIR"; // refused like a symlink, once opened
  return "take";
}

/** expectedRow: status and whether a PID may be shown, or undefined when the file is not listed. */
function expectedRow(e: Entry, u: User): { status: LockInfo["status"]; pid: boolean } | undefined {
  switch (e.k) {
    case "missing": return undefined;
    case "held": return { status: "active", pid: true };
    case "held-garbage": return { status: "active", pid: false }; // held, details unknown: never "corrupt", never free
    case "held-foreign": return { status: "foreign", pid: true };
    case "valid": case "foreign": case "readonly": return { status: "stale", pid: true };
    case "noperm": case "writeonly": return u === "root" ? { status: "stale", pid: true } : { status: "corrupt", pid: false };
    case "empty": return { status: "stale", pid: false };
    case "hardlink": return { status: "corrupt", pid: false }; // another file's content, never shown as a record
    default: return { status: "corrupt", pid: false };
  }
}

/** expectedCheck: the exit code of --check, which predicts acquiring's, errors included. */
function expectedCheck(d: DescCase, u: User): number {
  return EXIT_OF[expectedAcquire(d, u)];
}

function expectedAcquire(d: DescCase, u: User): AcquireView {
  for (let s = 0; s < d.max; s++) {
    const v = acquireView(d.slots[s] ?? { k: "missing" }, u);
    if (v !== "busy") return v;
  }
  return "busy";
}

const EXIT_OF: Record<AcquireView, number> = { take: 0, busy: 1, ENODIR: 6, EPERM: 5 };

// ---- building a directory from a case ----

interface Built {
  dir: string;
  held: Lock[];
  servers: Server[];
  /** Symlink targets outside the directory that nothing may touch. */
  canary: { file: string; content: string; mtimeMs: number; dir: string; dangling: string[] };
  /** Every file outside the lock directory (hard link targets among them), as built: none may change. */
  outside: Map<string, FileState>;
  cleanup(): Promise<void>;
}

interface FileState { content: Buffer; mode: number; mtimeMs: number }

/** filesUnder snapshots the regular files below dir: content, mode and mtime. */
function filesUnder(dir: string, into = new Map<string, FileState>()): Map<string, FileState> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    if (e.isDirectory()) filesUnder(path, into);
    else if (e.isFile()) {
      const st = statSync(path);
      into.set(path, { content: readFileSync(path), mode: st.mode & 0o7777, mtimeMs: st.mtimeMs });
    }
  }
  return into;
}

let seq = 0;
const descName = (i: number) => `d${i}`;

/** realRecord: a record the library really wrote, for this descriptor and slot. */
async function realRecord(scratch: string, descriptor: string, slot: number, max: number): Promise<Buffer> {
  const lock = await acquire(descriptor, { lockDir: scratch, maxHolders: max, preferredSlot: slot, timeout: 0, command: "backup.sh --daily" });
  assert.equal(lock.slot, slot);
  const bytes = readFileSync(join(scratch, `${descriptor}.slot${slot}.lock`));
  await lock.release();
  return bytes;
}

function foreignRecord(descriptor: string, slot: number, max: number): Uint8Array {
  return waitlock.core.encodeRecord({
    type: max > 1 ? LockType.Semaphore : LockType.Mutex, slot, maxHolders: max, holderPid: 4242, ownerPid: 4242, ownerStart: 1,
    uid: 0, acquiredAt: Date.now() - 60_000, hostname: `not-${hostname()}.example`, descriptor, command: "on another host",
  });
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(path, () => resolve(server));
  });
}

async function build(base: string, c: DirCase): Promise<Built> {
  const n = ++seq;
  const dir = join(base, `case${n}`);
  const scratch = join(base, `scratch${n}`);
  const canaryDir = join(base, `canary${n}`);
  mkdirSync(dir);
  mkdirSync(scratch);
  mkdirSync(join(canaryDir, "dir"), { recursive: true });
  chmodSync(dir, 0o1777); // a shared directory: the unprivileged user may create files too
  chmodSync(canaryDir, 0o1777);
  chmodSync(join(canaryDir, "dir"), 0o1777);
  const canaryFile = join(canaryDir, "target.txt");
  writeFileSync(canaryFile, "canary\n");
  chmodSync(canaryFile, 0o666); // writable by anyone: following a symlink would show
  const dangling: string[] = [];
  const held: Lock[] = [];
  const servers: Server[] = [];

  // Held slots first, while their files are free to take.
  for (const [i, d] of c.descs.entries()) {
    for (const [slot, e] of d.slots.entries()) {
      if (!HELD.has(e.k)) continue;
      const lock = await acquire(descName(i), { lockDir: dir, maxHolders: Math.max(d.max, slot + 1), preferredSlot: slot, timeout: 0 });
      assert.equal(lock.slot, slot);
      held.push(lock);
    }
  }
  for (const [i, d] of c.descs.entries()) {
    const desc = descName(i);
    for (const [slot, e] of d.slots.entries()) {
      const path = join(dir, `${desc}.slot${slot}.lock`);
      const record = () => realRecord(scratch, desc, slot, Math.max(d.max, slot + 1));
      const file = async (bytes: Uint8Array, mode = 0o666) => {
        writeFileSync(path, bytes);
        chmodSync(path, mode);
      };
      switch (e.k) {
        case "missing": case "held": break;
        case "held-garbage": writeFileSync(path, e.bytes); break; // same inode: the holder keeps its lock
        case "held-foreign": writeFileSync(path, foreignRecord(desc, slot, Math.max(d.max, slot + 1))); break;
        case "valid": await file(await record()); break;
        case "foreign": await file(foreignRecord(desc, slot, Math.max(d.max, slot + 1))); break;
        case "empty": await file(new Uint8Array()); break;
        case "noperm": case "readonly": case "writeonly": await file(await record(), PERMS[e.k]); break;
        case "truncated": {
          const r = await record();
          await file(r.subarray(0, 1 + Math.floor(e.keep * (r.length - 1))));
          break;
        }
        case "bitflip": {
          const r = Buffer.from(await record());
          // Distinct bits of the arbitrary may land on the same bit of a short record,
          // and two flips of one bit cancel: flip each bit of the record at most once.
          for (const bit of new Set(e.bits.map((b) => ((b >> 3) % r.length) * 8 + (b & 7)))) r[bit >> 3] ^= 1 << (bit & 7);
          await file(r);
          break;
        }
        case "garbage": await file(e.bytes); break;
        case "huge": {
          const big = Buffer.alloc(HUGE_BYTES, 0x5a);
          if (e.head === "record") (await record()).copy(big);
          await file(big);
          break;
        }
        case "dir": mkdirSync(path); break;
        case "fifo": assert.equal(spawnSync("mkfifo", [path]).status, 0); break;
        case "socket": servers.push(await listen(path)); break;
        case "symlink-file": symlinkSync(canaryFile, path); break;
        case "symlink-dir": symlinkSync(join(canaryDir, "dir"), path); break;
        case "hardlink": {
          const target = join(canaryDir, `linked-${desc}-${slot}`);
          writeFileSync(target, e.record ? await record() : "not yours\n");
          chmodSync(target, e.mode);
          linkSync(target, path);
          break;
        }
        case "symlink-dangling": {
          const target = join(canaryDir, `dangling-${slot}-${desc}`);
          dangling.push(target);
          symlinkSync(target, path);
          break;
        }
      }
    }
    if (d.reader) writeFileSync(join(dir, `${desc}.slot0.reader4242-1.lock`), d.reader);
  }
  for (const j of c.junk) writeFileSync(join(dir, `${j.name}.slot0.lock`), j.bytes);
  return {
    dir, held, servers, outside: filesUnder(canaryDir),
    canary: { file: canaryFile, content: "canary\n", mtimeMs: statSync(canaryFile).mtimeMs, dir: join(canaryDir, "dir"), dangling },
    async cleanup() {
      for (const l of held) await l.release();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    },
  };
}

function assertCanaryUntouched(b: Built): void {
  const c = b.canary;
  assert.equal(readFileSync(c.file, "utf8"), c.content, "a symlink's target file was written");
  assert.equal(statSync(c.file).mtimeMs, c.mtimeMs, "a symlink's target file was touched");
  assert.equal(statSync(c.file).mode & 0o777, 0o666, "a symlink's target file changed mode");
  assert.deepEqual(readdirSync(c.dir), [], "something was created through a symlink to a directory");
  for (const d of c.dangling) assert.ok(!existsSync(d), `a dangling symlink's target ${d} was created`);
  for (const [path, was] of b.outside) {
    const st = statSync(path);
    assert.deepEqual(readFileSync(path), was.content, `${path} (outside the lock directory) was written`);
    assert.equal(st.mode & 0o7777, was.mode, `${path} (outside the lock directory) changed mode`);
    assert.equal(st.mtimeMs, was.mtimeMs, `${path} (outside the lock directory) was touched`);
  }
}

/** rowsMatchModel checks a listing against the model, entry by entry. */
function rowsMatchModel(c: DirCase, u: User, rows: { descriptor: string; slot: number; status: string; pid: number | null; kind?: string; path?: string }[], all: boolean): void {
  const seen = new Set<string>();
  for (const [i, d] of c.descs.entries()) {
    for (const [slot, e] of d.slots.entries()) {
      const want = expectedRow(e, u);
      const got = rows.filter((r) => r.descriptor === descName(i) && r.slot === slot && !(r.path ?? "").includes(".reader"));
      const shown = want && (all || want.status === "active" || want.status === "foreign");
      const where = `${descName(i)} slot ${slot} (${e.k}, as ${u}${all ? ", --all" : ""})`;
      if (!shown) {
        assert.equal(got.length, 0, `${where} should not be listed: ${JSON.stringify(got)}`);
        continue;
      }
      assert.equal(got.length, 1, `${where} listed once: ${JSON.stringify(got)}`);
      assert.equal(got[0].status, want.status, `${where} status`);
      assert.equal(got[0].pid !== null && got[0].pid !== undefined, want.pid, `${where}: PID shown only from a valid record (${got[0].pid})`);
      seen.add(`${descName(i)}.${slot}`);
    }
    if (d.reader) {
      const r = rows.filter((x) => x.descriptor === descName(i) && (x.path ?? x.kind ?? "").includes("reader"));
      if (all) {
        assert.equal(r.length, 1, `${descName(i)}: the garbage reader file is listed once with --all`);
        assert.equal(r[0].status, "corrupt");
        assert.equal(r[0].pid, null);
      } else assert.equal(r.length, 0);
    }
  }
  for (const r of rows) {
    assert.match(r.descriptor, /^[A-Za-z0-9._-]{1,255}$/, "a file whose name holds no valid descriptor is not a lock file");
    if (r.status === "active" || r.status === "foreign") {
      assert.ok(seen.has(`${r.descriptor}.${r.slot}`), `${r.descriptor} slot ${r.slot} reported as held but nothing holds it`);
    }
  }
}

// ---- the library, in this process (as root or whoever runs the tests) ----

test("hostile lock directory: the library (fast-check)", { timeout: 180_000 }, async (t) => {
  const base = tempDir(t, "waitlock-hostile-lib-");
  // Root reads and writes any file; anyone else (a developer's plain `npm test`) is
  // held to permission bits even on files of their own, as the unprivileged user is.
  const u: User = IS_ROOT ? "root" : "nobody";
  let cases = 0;
  let files = 0;
  await fc.assert(
    fc.asyncProperty(dirArb, async (c) => {
      cases++;
      files += c.descs.reduce((s, d) => s + d.slots.filter((e) => e.k !== "missing").length + (d.reader ? 1 : 0), 0) + c.junk.length;
      const b = await build(base, c);
      try {
        const toRows = (xs: LockInfo[]) => xs.map((x) => ({ descriptor: x.descriptor, slot: x.slot, status: x.status, pid: x.record?.holderPid ?? null, kind: x.kind, path: x.location }));
        rowsMatchModel(c, u, toRows(await list({ lockDir: b.dir, all: true })), true);
        rowsMatchModel(c, u, toRows(await list({ lockDir: b.dir })), false);
        for (const [i, d] of c.descs.entries()) {
          const got = await check(descName(i), { lockDir: b.dir, maxHolders: d.max }).then((free) => (free ? 0 : 1), (err) => (err as WaitlockError).exitCode);
          assert.equal(got, expectedCheck(d, u), `check ${descName(i)} ${JSON.stringify(d.slots.map((e) => e.k))}`);
        }
        for (const [i, d] of c.descs.entries()) {
          const want = expectedAcquire(d, u);
          let got: AcquireView;
          try {
            const lock = await acquire(descName(i), { lockDir: b.dir, maxHolders: d.max, timeout: 0 });
            got = "take";
            await lock.release();
          } catch (err) {
            const code = (err as { code?: string }).code;
            if (code === "EBUSY") got = "busy";
            else if (code === "ENODIR" || code === "EPERM") got = code;
            else throw err;
          }
          assert.equal(got, want, `acquire ${descName(i)} ${JSON.stringify(d.slots.map((e) => e.k))}`);
        }
        assertCanaryUntouched(b);
      } finally {
        await b.cleanup();
      }
    }),
    { numRuns: Number(process.env.WAITLOCK_HOSTILE_RUNS || 150), includeErrorInReport: true },
  );
  t.diagnostic(`library: ${cases} generated directories, ${files} hostile files`);
});

// ---- bin/waitlock, as real processes ----

interface Run { code: number | null; stdout: string; stderr: string }

function run(args: string[], uid?: number): Run {
  // The unprivileged user gets its own (passwd) home, not root's, as a login would give it.
  const r = runCli(args, { env: uid ? { HOME: "/nonexistent" } : {}, uid, timeoutMs: 20_000 });
  const what = `waitlock ${args.join(" ")}${uid ? ` (uid ${uid})` : ""}`;
  assert.equal((r.error as NodeJS.ErrnoException | undefined)?.code, undefined, `${what} hung or failed to run: ${r.error}`);
  assert.equal(r.signal, null, `${what} died of ${r.signal}: ${r.stderr}`);
  assert.ok(DOCUMENTED_EXITS.has(r.code!), `${what}: undocumented exit ${r.code}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at |^\s+at /m, `${what}: a stack trace`);
  assert.match(r.stderr, /^(|waitlock: [^\n]+\n)$/, `${what}: at most one clear line on stderr`);
  return r;
}

function doctorAvailable(): boolean {
  const r = spawnSync(WAITLOCK, ["doctor", "--help"], { encoding: "utf8", timeout: 20_000 });
  return r.status === 0 && /\$ waitlock doctor/.test(r.stdout);
}

test("hostile lock directory: bin/waitlock --list (4 formats), --check, acquire, doctor, as root and as another user (fast-check)", { timeout: 240_000 }, async (t) => {
  const base = tempDir(t, "waitlock-hostile-cli-");
  chmodSync(base, 0o755);
  const asNobody = IS_ROOT && cannotRunAs(NOBODY);
  if (asNobody) t.diagnostic(`as root only: ${asNobody}`);
  const users: User[] = IS_ROOT ? (asNobody ? ["root"] : ["root", "nobody"]) : ["nobody"];
  const withDoctor = doctorAvailable();
  let cases = 0;
  let files = 0;
  let invocations = 0;
  await fc.assert(
    fc.asyncProperty(dirArb, fc.constantFrom(...users), async (c, u) => {
      cases++;
      files += c.descs.reduce((s, d) => s + d.slots.filter((e) => e.k !== "missing").length + (d.reader ? 1 : 0), 0) + c.junk.length;
      const b = await build(base, c);
      const uid = u === "nobody" && IS_ROOT ? NOBODY : undefined;
      const wl = (args: string[]) => {
        invocations++;
        return run(["-d", b.dir, ...args], uid);
      };
      try {
        const json = wl(["--list", "--all", "--format", "json"]);
        assert.equal(json.code, 0, json.stderr);
        rowsMatchModel(c, u, JSON.parse(json.stdout), true);
        const held = wl(["--list", "--format", "json"]);
        assert.equal(held.code, 0);
        rowsMatchModel(c, u, JSON.parse(held.stdout), false);
        const jsonRows = JSON.parse(json.stdout) as unknown[];
        const csv = wl(["--list", "--all", "--format", "csv"]);
        assert.equal(csv.code, 0);
        assert.ok(csv.stdout.startsWith("descriptor,pid,"), "CSV header");
        const nul = wl(["--list", "--all", "--format", "null"]);
        assert.equal(nul.code, 0);
        // Every field NUL-terminated, every record one more NUL: (columns + 1) NULs a record.
        const columns = csv.stdout.split("\n")[0].split(",").length;
        assert.equal([...nul.stdout].filter((ch) => ch === "\0").length, jsonRows.length * (columns + 1), "null format: fields and records terminated");
        const human = wl(["--list", "--all"]);
        assert.equal(human.code, 0);
        assert.equal(human.stdout.split("\n").filter(Boolean).length, jsonRows.length ? jsonRows.length + 1 : 0, "human: a header and one line per entry");
        for (const out of [human.stdout, csv.stdout]) {
          assert.doesNotMatch(out, /[\x00-\x08\x0b-\x1f\x7f]/, "no control characters from file names reach a terminal");
        }
        if (withDoctor) {
          invocations++;
          const doctor = run(["doctor", "--lock-dir", b.dir], uid);
          assert.ok(doctor.code === 0 || doctor.code === 1, `doctor: exit 0 or 1 (${doctor.code}): ${doctor.stderr}`);
          assert.match(doctor.stdout, /^(OK|WARN|FAIL) /m, "doctor reports its checks");
          assert.doesNotMatch(doctor.stdout, /[\x00-\x08\x0b-\x1f\x7f]/, "doctor: no control characters from file names");
          // Whatever doctor says is held must be what is held: a corrupt record is never a holder.
          const heldNow = /(\d+) held now/.exec(doctor.stdout);
          const heldCount = c.descs.reduce((n, d) => n + d.slots.filter((e) => HELD.has(e.k)).length, 0);
          if (heldNow) assert.equal(Number(heldNow[1]), heldCount, `doctor counts the held slots: ${heldNow[0]}`);
        }
        for (const [i, d] of c.descs.entries()) {
          const chk = wl(["--check", "-m", String(d.max), descName(i)]);
          assert.equal(chk.code, expectedCheck(d, u), `--check ${descName(i)} as ${u} ${JSON.stringify(d.slots.map((e) => e.k))}: ${chk.stderr}`);
        }
        for (const [i, d] of c.descs.entries()) {
          const acq = wl(["-m", String(d.max), descName(i), "--exec", "true"]);
          const want = expectedAcquire(d, u);
          assert.equal(acq.code, EXIT_OF[want], `acquire ${descName(i)} as ${u} ${JSON.stringify(d.slots.map((e) => e.k))}: ${acq.stderr}`);
        }
        assertCanaryUntouched(b);
        for (const l of b.held) assert.equal(l.released, false);
        // The held slots are still held: nothing a probe or a failed acquirer did freed them.
        for (const [i, d] of c.descs.entries()) {
          for (const [slot, e] of d.slots.entries()) {
            if (HELD.has(e.k)) assert.ok(lstatSync(join(b.dir, `${descName(i)}.slot${slot}.lock`)).isFile());
          }
        }
      } finally {
        await b.cleanup();
      }
    }),
    { numRuns: Number(process.env.WAITLOCK_HOSTILE_CLI_RUNS || 12), includeErrorInReport: true },
  );
  t.diagnostic(`bin/waitlock: ${cases} generated directories, ${files} hostile files, ${invocations} invocations${withDoctor ? " (with doctor)" : " (doctor not available: not run)"}`);
});
