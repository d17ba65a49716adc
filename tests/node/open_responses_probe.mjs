// Runs a JavaScript client of the Open Responses protocol (the AI SDK's @ai-sdk/open-responses
// provider, from npm) against one Responses URL and prints what it got as JSON: a whole answer,
// a streamed one, and a tool loop (the SDK runs the tool and sends its result back), streamed and not.
// Node 20's fetch does not read HTTPS_PROXY: an undici ProxyAgent is made the global dispatcher
// (the proxy's CA comes from NODE_EXTRA_CA_CERTS).
// argv: <responses URL, e.g. https://api.openai.com/v1/responses> <model>
import { createRequire } from "node:module";

const require = createRequire(process.env.OPEN_RESPONSES_PROBE_MODULES + "/");
const { ProxyAgent, setGlobalDispatcher } = require("undici");
const { createOpenResponses } = require("@ai-sdk/open-responses");
const { generateText, streamText, tool, stepCountIs } = require("ai");
const { z } = require("zod");

const [url, modelId] = process.argv.slice(2);
if (process.env.HTTPS_PROXY) setGlobalDispatcher(new ProxyAgent(process.env.HTTPS_PROXY));

const provider = createOpenResponses({ name: "codex-shim-test", url, apiKey: "sk-open-responses-client" });
const model = provider(modelId);
const ran = [];
const tools = {
  get_weather: tool({
    description: "The weather in a city",
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => { ran.push(city); return `sunny in ${city}`; },
  }),
};

const whole = await generateText({ model, prompt: "Say hi" });
const streamed = streamText({ model, prompt: "Stream hi" });
let streamedText = "";
for await (const delta of streamed.textStream) streamedText += delta;
const loop = await generateText({ model, prompt: "Weather in Paris?", tools, stopWhen: stepCountIs(3) });
const streamedLoop = streamText({ model, prompt: "Weather in Rome?", tools, stopWhen: stepCountIs(3) });
let streamedLoopText = "";
for await (const delta of streamedLoop.textStream) streamedLoopText += delta;

process.stdout.write(JSON.stringify({
  whole: { text: whole.text, finish: whole.finishReason, inputTokens: whole.usage.inputTokens, outputTokens: whole.usage.outputTokens },
  streamed: { text: streamedText, finish: await streamed.finishReason },
  loop: { text: loop.text, steps: loop.steps.map((s) => s.finishReason) },
  streamedLoop: { text: streamedLoopText, steps: (await streamedLoop.steps).map((s) => s.finishReason) },
  ran,
}));
process.exit(0);
