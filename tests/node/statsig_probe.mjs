// Runs the real Statsig JS client (@statsig/js-client, from npm) once and prints what it sees as JSON.
// Its requests go through the global fetch; Node 20's fetch does not read HTTPS_PROXY, so an undici
// ProxyAgent is made the global dispatcher (the CA comes from NODE_EXTRA_CA_CERTS).
// argv: <sdk key> <api base, e.g. https://ab.chatgpt.com/v1> <config names, comma separated> <gate names> <layer names>
import { createRequire } from "node:module";

const require = createRequire(process.env.STATSIG_PROBE_MODULES + "/");
const { ProxyAgent, setGlobalDispatcher } = require("undici");
const { StatsigClient } = require("@statsig/js-client");

const [sdkKey, api, configs, gates, layers] = process.argv.slice(2);
if (process.env.HTTPS_PROXY) setGlobalDispatcher(new ProxyAgent(process.env.HTTPS_PROXY));

const names = (list) => (list ? list.split(",").filter(Boolean) : []);
const client = new StatsigClient(sdkKey, { userID: "codex-shim-test" }, { networkConfig: { api }, loggingEnabled: "disabled" });
await client.initializeAsync();
const out = {
  source: client.getContext().values === null ? null : client.getDynamicConfig(names(configs)[0] ?? "").details.reason,
  values: client.getContext().values,
  configs: Object.fromEntries(names(configs).map((n) => [n, client.getDynamicConfig(n).value])),
  gates: Object.fromEntries(names(gates).map((n) => [n, client.getFeatureGate(n).value])),
  layers: Object.fromEntries(names(layers).map((n) => [n, client.getLayer(n).__value ?? null])),
};
process.stdout.write(JSON.stringify(out));
await client.shutdown?.();
process.exit(0);
