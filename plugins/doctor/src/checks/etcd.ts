// doctor --backend etcd://…: can waitlock reach the cluster, which version
// answers, how long a round trip takes, and the smallest lease it grants
// (the shortest --lease that means what it says).
import type { EtcdTarget } from "../../../../adapters/backend-url.ts";
import { isWaitlockError } from "../../../../adapters/errors.ts";
import { EtcdClient } from "../../../../adapters/etcd/client.ts";
import { nodeNetwork } from "../../../../adapters/node/network.ts";
import { errorText, fail, ok, warn, type Finding } from "../finding.ts";

const ROUND_TRIPS = 7;

export async function etcd(target: EtcdTarget): Promise<Finding[]> {
  const where = target.display;
  let client: EtcdClient;
  try {
    client = EtcdClient.connect(target, nodeNetwork, { requestTimeoutMs: 3000 });
  } catch (err) {
    return [fail("etcd", `cannot set up TLS for ${where}: ${errorText(err)}`, "check the ca/cert/key paths (query parameters or WAITLOCK_TLS_CA/CERT/KEY)")];
  }
  const findings: Finding[] = [];
  try {
    const status = await client.status();
    findings.push(ok("etcd", `${client.endpoint} answers: etcd ${status.version}, leader ${status.leader === "0" ? "none" : status.leader}`));
    if (status.leader === "0") findings.push(fail("etcd leader", "the cluster has no leader: locks cannot be taken", "restore a quorum of members"));
    const times: number[] = [];
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const t0 = performance.now();
      await client.status();
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)];
    const rtt = `round trip ${median.toFixed(1)} ms (median of ${ROUND_TRIPS})`;
    findings.push(median > 100 ? warn("etcd round trip", rtt, "a lock costs 3 round trips; a nearer endpoint makes locking faster") : ok("etcd round trip", rtt));
    const lease = await client.grantLease(1);
    await client.revokeLease(lease.id).catch(() => undefined);
    findings.push(ok("etcd leases", `the smallest lease granted is ${lease.ttl} s (a shorter --lease is raised to it)`));
  } catch (err) {
    const fix = isWaitlockError(err, "EPERM")
      ? "check the user name and WAITLOCK_BACKEND_PASSWORD, or the TLS files"
      : "check that etcd runs and the endpoints in the URL are right";
    findings.push(fail("etcd", `${where}: ${errorText(err)}`, fix));
  } finally {
    client.close();
  }
  return findings;
}
