// doctor --backend redis://…: can waitlock reach the server, which version
// answers, how long a round trip takes, and what about this server could lose
// a lock: no persistence (a restart forgets every lock), being a replica
// (asynchronous replication: a failover can forget a lock; writes here are
// refused), and an eviction policy that may drop keys with a TTL (every lock's
// keys have one) when memory runs short.
import type { RedisTarget } from "../../../../adapters/backend-url.ts";
import { isWaitlockError } from "../../../../adapters/errors.ts";
import { nodeNetwork } from "../../../../adapters/node/network.ts";
import { RedisClient } from "../../../../adapters/redis/client.ts";
import { RedisLocks } from "../../../../adapters/redis/locks.ts";
import { errorText, fail, ok, warn, type Finding } from "../finding.ts";

const ROUND_TRIPS = 7;

/** One plain command on the backend's own connection (its timeouts, its error messages, no credential in them). */
type Send = (...args: string[]) => Promise<unknown>;

/** field reads `name:value` from an INFO section. */
const field = (info: string, name: string) => new RegExp(`^${name}:(.*?)\\r?$`, "m").exec(info)?.[1];

/** config reads one CONFIG GET value, or undefined when the server refuses CONFIG (an ACL, a managed service). */
async function config(send: Send, name: string): Promise<string | undefined> {
  try {
    const reply = (await send("CONFIG", "GET", name)) as string[];
    return reply.length >= 2 ? reply[1] : undefined;
  } catch {
    return undefined;
  }
}

export async function redis(target: RedisTarget): Promise<Finding[]> {
  const where = target.display;
  let client: RedisClient;
  try {
    client = RedisClient.connect(target, nodeNetwork);
  } catch (err) {
    return [fail("redis", `cannot set up TLS for ${where}: ${errorText(err)}`, "check the ca/cert/key paths (query parameters or WAITLOCK_TLS_CA/CERT/KEY)")];
  }
  const send: Send = (...args) => client.run((r) => r.call(args[0], ...args.slice(1)));
  const findings: Finding[] = [];
  try {
    await send("PING"); // reachable, and the credentials accepted: everything below may be refused one by one
    const server = await refusable(() => send("INFO", "server"));
    const version = server === REFUSED ? "(version not readable: INFO refused to this user)" : `Redis ${field(String(server), "redis_version") ?? "(version not reported)"}`;
    findings.push(ok("redis", `${target.endpoint} answers: ${version}, database ${target.db}`));

    const times: number[] = [];
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const t0 = performance.now();
      await send("PING");
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    const rtt = `round trip ${median.toFixed(2)} ms (median of ${ROUND_TRIPS} PINGs)`;
    findings.push(median > 50 ? warn("redis round trip", rtt, "every acquire, renewal and release is a round trip; a nearer server makes locking faster") : ok("redis round trip", rtt));

    findings.push(await lockScripts(client, target));
    findings.push(await persistence(send));
    findings.push(await role(send));
    const eviction = await evictionPolicy(send);
    if (eviction) findings.push(eviction);
  } catch (err) {
    const fix = isWaitlockError(err, "EPERM")
      ? "check the user name and the password (in the URL or WAITLOCK_BACKEND_PASSWORD), or the TLS files"
      : "check that redis-server runs and that HOST:PORT in the URL is right";
    findings.push(fail("redis", `${where}: ${errorText(err)}`, fix));
  } finally {
    client.close();
  }
  return findings;
}

const REFUSED = Symbol("refused");

/** refusable runs a request that an ACL may forbid (NOPERM): REFUSED then, instead of failing the whole check. */
async function refusable<T>(request: () => Promise<T>): Promise<T | typeof REFUSED> {
  try {
    return await request();
  } catch (err) {
    if (isWaitlockError(err, "EPERM") && /NOPERM/.test(errorText(err))) return REFUSED;
    throw err;
  }
}

/** lockScripts runs the protocol's read-only listing script: what every lock operation needs this user to be allowed. */
async function lockScripts(client: RedisClient, target: RedisTarget): Promise<Finding> {
  try {
    const listed = await new RedisLocks(client, target.prefix).list();
    const holders = listed.reduce((n, d) => n + d.holders.length, 0);
    const waiters = listed.reduce((n, d) => n + d.waiters.length, 0);
    return ok("redis locks", `the lock scripts run; under prefix ${JSON.stringify(target.prefix)}: ${listed.length} lock(s) in use, ${holders} holder(s), ${waiters} waiting`);
  } catch (err) {
    return fail("redis locks", `the lock scripts do not run: ${errorText(err)}`,
      isWaitlockError(err, "EPERM") ? "allow this user EVAL/EVALSHA and the keys and channels under the prefix (e.g. ACL SETUSER … ~PREFIX* &PREFIX* +@all)" : undefined);
  }
}

async function persistence(send: Send): Promise<Finding> {
  const reply = await refusable(() => send("INFO", "persistence"));
  if (reply === REFUSED) {
    return warn("redis persistence", "cannot tell: INFO is refused to this user",
      "ask whoever runs the server whether it keeps AOF or RDB: without either a restart forgets every lock");
  }
  const info = String(reply);
  const aof = field(info, "aof_enabled") === "1";
  const save = await config(send, "save");
  const fsync = aof ? await config(send, "appendfsync") : undefined;
  if (aof) return ok("redis persistence", `AOF on${fsync ? ` (appendfsync ${fsync})` : ""}: locks survive a restart${fsync === "no" || fsync === "everysec" ? ", except the last second's changes" : ""}`);
  if (save === undefined) {
    return warn("redis persistence", "AOF is off, and whether RDB snapshots are configured cannot be read (CONFIG GET refused)",
      "if the server keeps nothing on disk, a restart forgets every lock: holders find out at their next renewal (exit 7); turn on appendonly yes");
  }
  if (save.trim() === "") {
    return warn("redis persistence", "off (no AOF, no RDB save points): a restart forgets every lock, and holders find out only at their next renewal (exit 7)",
      "set appendonly yes (and appendfsync always or everysec) on the server, or use etcd when locks must survive a restart");
  }
  return ok("redis persistence", `RDB snapshots only (save ${save}): a restart brings back the last snapshot, not the changes since`);
}

async function role(send: Send): Promise<Finding> {
  let reply: unknown[] | undefined;
  try {
    reply = (await send("ROLE")) as unknown[];
  } catch {
    // ROLE refused: INFO replication says the same
  }
  const replication = reply ? "" : await refusable(() => send("INFO", "replication"));
  if (replication === REFUSED) return warn("redis role", "cannot tell: ROLE and INFO are refused to this user", "make sure --backend names the primary, not a replica");
  const info = String(replication);
  const name = reply ? String(reply[0]) : field(info, "role") ?? "unknown";
  if (name === "slave" || name === "replica") {
    const primary = reply ? `${reply[1]}:${reply[2]}` : `${field(info, "master_host")}:${field(info, "master_port")}`;
    return warn("redis role", `a replica of ${primary}: it refuses lock writes (READONLY), and replication is asynchronous, so a failover can forget locks just granted`,
      "point --backend at the primary; for locks that must survive a failover use etcd");
  }
  if (name === "master") {
    const replicas = reply ? (reply[2] as unknown[]).length : Number(field(info, "connected_slaves") ?? 0);
    return ok("redis role", replicas ? `primary with ${replicas} replica(s): replication is asynchronous, a failover can forget locks just granted` : "primary, no replicas");
  }
  return warn("redis role", `role ${name}: not a primary`, "point --backend at the primary Redis server");
}

async function evictionPolicy(send: Send): Promise<Finding | undefined> {
  const [policy, maxmemory] = [await config(send, "maxmemory-policy"), await config(send, "maxmemory")];
  if (policy === undefined) return undefined;
  if (policy === "noeviction" || maxmemory === "0") return ok("redis eviction", `${policy}${maxmemory === "0" ? ", no maxmemory" : ""}: lock keys are never evicted`);
  return warn("redis eviction", `maxmemory-policy ${policy} with maxmemory ${maxmemory}: when memory runs short, Redis may evict lock keys (each has a TTL), and a held lock vanishes`,
    "use maxmemory-policy noeviction on a server that keeps locks, or a server of its own");
}
