import { tsImport } from "tsx/esm/api";
const { startEtcd } = await tsImport("../tests/servers/etcd.ts", import.meta.url);
const etcd = await startEtcd();
console.log(etcd.endpoint);
process.on("SIGTERM", async () => { await etcd.stop(); process.exit(0); });
setInterval(() => {}, 1 << 30);
