// One Converse call through the AWS SDK for JavaScript v3's BedrockRuntimeClient against
// AWS_ENDPOINT_URL_BEDROCK_RUNTIME, with the API key from AWS_BEARER_TOKEN_BEDROCK (the
// SDK's own variable) or, given as the first argument, through the client's `token` option.
// Prints {"ok": true} or {"error": {...}} as JSON.
// usage: node bedrock.mjs [API_KEY]
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const { BedrockRuntimeClient, ConverseCommand } = require("@aws-sdk/client-bedrock-runtime");
const { NodeHttpHandler } = require("@smithy/node-http-handler");

const [key] = process.argv.slice(2);
const client = new BedrockRuntimeClient({
  region: "us-east-1",
  maxAttempts: 1,
  // The client's default handler speaks HTTP/2; a plain-http local endpoint speaks HTTP/1.1.
  requestHandler: new NodeHttpHandler(),
  ...(key ? { token: { token: key }, authSchemePreference: ["httpBearerAuth"] } : {}),
});
try {
  await client.send(new ConverseCommand({
    modelId: "anthropic.claude-3-haiku-20240307-v1:0",
    messages: [{ role: "user", content: [{ text: "hello" }] }],
  }));
  console.log(JSON.stringify({ ok: true }));
} catch (e) {
  console.log(JSON.stringify({ error: { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode } }));
  process.exitCode = 1;
}
