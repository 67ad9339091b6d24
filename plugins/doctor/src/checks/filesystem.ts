// The filesystem under the lock directory, from /proc/self/mountinfo (statfs's
// magic number when that is unreadable), and what it means for kernel locks.
import { readFileSync, realpathSync, statfsSync, statSync } from "node:fs";
import { errorText, ok, warn, type Finding } from "../finding.ts";

export interface Mount {
  /** "major:minor" of the device, as stat's st_dev. */
  device: string;
  mountPoint: string;
  options: string[];
  fsType: string;
  source: string;
  superOptions: string[];
}

/** unescape undoes mountinfo's octal escapes (\040 is a space). */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * parseMountinfo reads /proc/<pid>/mountinfo lines: ID PARENT MAJ:MIN ROOT
 * MOUNTPOINT OPTIONS [OPTIONAL…] - FSTYPE SOURCE SUPEROPTIONS. Malformed lines
 * are skipped.
 */
export function parseMountinfo(text: string): Mount[] {
  const out: Mount[] = [];
  for (const line of text.split("\n")) {
    const f = line.split(" ");
    const dash = f.indexOf("-", 6);
    if (dash < 0 || f.length < dash + 3) continue;
    out.push({
      device: f[2], mountPoint: unescape(f[4]), options: f[5].split(","),
      fsType: f[dash + 1], source: unescape(f[dash + 2]), superOptions: (f[dash + 3] ?? "").split(","),
    });
  }
  return out;
}

/** deviceOf splits a Linux dev_t into "major:minor". */
export function deviceOf(dev: bigint): string {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return `${major}:${minor}`;
}

const under = (path: string, mountPoint: string) =>
  mountPoint === "/" || path === mountPoint || path.startsWith(mountPoint.endsWith("/") ? mountPoint : `${mountPoint}/`);

/**
 * mountOf finds the mount a path lives on: the deepest mount point above it,
 * preferring mounts of the path's own device (a later mount over a parent can
 * hide an earlier one, and bind mounts repeat a device).
 */
export function mountOf(mounts: Mount[], path: string, device: string): Mount | undefined {
  const above = mounts.filter((m) => under(path, m.mountPoint));
  const same = above.filter((m) => m.device === device);
  const pool = same.length > 0 ? same : above;
  // Later lines are mounted later: on equal depth the last one is on top.
  return pool.reduce<Mount | undefined>((best, m) => (!best || m.mountPoint.length >= best.mountPoint.length ? m : best), undefined);
}

/** statfs f_type magic numbers of common filesystems, for when mountinfo is unreadable. */
const MAGIC: Record<number, string> = {
  0x01021994: "tmpfs", 0xef53: "ext4", 0x58465342: "xfs", 0x9123683e: "btrfs", 0x2fc12fc1: "zfs",
  0x794c7630: "overlay", 0x6969: "nfs", 0x65735546: "fuse", 0xff534d42: "cifs", 0xfe534d42: "smb3",
  0x01021997: "9p", 0x6a656a63: "virtiofs", 0xf2f52010: "f2fs", 0x858458f6: "ramfs",
};

const LOCAL_DISK = new Set(["ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "jfs", "reiserfs", "bcachefs", "nilfs2"]);

/** meaning says what a filesystem type means for waitlock's kernel locks. */
export function meaning(fsType: string, m?: Mount): { status: "OK" | "WARN"; text: string; fix?: string } {
  const t = fsType.toLowerCase();
  if (t === "tmpfs" || t === "ramfs") return { status: "OK", text: "in memory: lock files vanish at reboot, which is harmless" };
  if (LOCAL_DISK.has(t)) return { status: "OK", text: "a local disk filesystem: kernel locks are exact and local to this machine" };
  if (t === "overlay") {
    return { status: "OK", text: "a container's layered root: locks exclude processes sharing this filesystem; to lock across containers, bind-mount one directory into all of them" };
  }
  if (t === "nfs" || t === "nfs4") {
    const opts = [...(m?.superOptions ?? []), ...(m?.options ?? [])];
    const vers = opts.find((o) => o.startsWith("vers="));
    const local = opts.find((o) => o === "nolock" || o === "local_lock=posix" || o === "local_lock=all");
    if (local) {
      return {
        status: "WARN",
        text: `NFS mounted with ${local}: kernel locks stay on this host, so processes on other hosts sharing the directory are not excluded`,
        fix: "remount without nolock/local_lock (and run rpc.statd for NFSv3), or lock in a local directory if only this host uses it",
      };
    }
    return {
      status: "OK",
      text: `NFS${vers ? ` (${vers})` : ""}: kernel locks go through the NFS lock manager (NLM/lockd for v3, the protocol itself for v4) and exclude processes on every client; a client that dies keeps its locks until the server's lease expires (about 90 s); records from other hosts are never judged by local PID checks`,
    };
  }
  if (t === "cifs" || t === "smb3") {
    return { status: "WARN", text: "SMB/CIFS: locks are sent to the server with Windows semantics and may not match Linux open-file-description locks", fix: "use a local directory, or NFS for locks shared between hosts" };
  }
  if (t.startsWith("fuse")) {
    return { status: "WARN", text: "a FUSE filesystem: locks may be local to this host or not enforced by the server; the kernel locks check shows what works here", fix: "prefer a local directory (tmpfs or a disk)" };
  }
  if (t === "9p" || t === "virtiofs" || t === "vboxsf" || t === "vmhgfs" || t === "drvfs") {
    return { status: "WARN", text: "a directory shared with a VM host: locks taken inside the guest may not be seen by processes outside it", fix: "lock in a directory that only this machine uses, e.g. /tmp/waitlock" };
  }
  return { status: "OK", text: "not a filesystem doctor knows; the kernel locks check shows whether locks work here" };
}

/** filesystem reports the lock directory's filesystem and what it means. */
export function filesystem(dir: string, mountinfo = "/proc/self/mountinfo"): Finding {
  let real = dir;
  let device = "";
  try {
    real = realpathSync(dir);
    device = deviceOf(statSync(real, { bigint: true }).dev);
  } catch {
    // examine the name as given
  }
  let mount: Mount | undefined;
  try {
    mount = mountOf(parseMountinfo(readFileSync(mountinfo, "utf8")), real, device);
  } catch {
    // not Linux, or /proc not mounted: fall back to statfs
  }
  let fsType = mount?.fsType;
  if (!fsType) {
    try {
      const magic = Number(statfsSync(real).type);
      fsType = MAGIC[magic] ?? `type 0x${magic.toString(16)}`;
    } catch (err) {
      return warn("filesystem", `cannot tell (no mountinfo, statfs failed: ${errorText(err)})`);
    }
  }
  const where = mount ? `${mount.source} on ${mount.mountPoint}` : "from statfs";
  const m = meaning(fsType, mount);
  const line = `${fsType} (${where}): ${m.text}`;
  return m.status === "OK" ? ok("filesystem", line) : warn("filesystem", line, m.fix);
}
