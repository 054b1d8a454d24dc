// Runs one IAM command through the AWS SDK for JavaScript v3 against AWS_ENDPOINT_URL_IAM
// (which the SDK honours) and prints the result, or {"error": {...}}, as JSON.
// usage: node iam.mjs CommandName '{"UserName": "jane", ...}'
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const iam = require("@aws-sdk/client-iam");

const [name, input] = process.argv.slice(2);
const client = new iam.IAMClient({
  region: "us-east-1",
  credentials: { accessKeyId: "t", secretAccessKey: "t" },
  maxAttempts: 1,
});
try {
  const out = await client.send(new iam[`${name}Command`](JSON.parse(input || "{}")));
  delete out.$metadata;
  console.log(JSON.stringify(out, (k, v) => v));
} catch (e) {
  console.log(JSON.stringify({ error: { name: e.name, message: e.message, status: e.$metadata?.httpStatusCode } }));
  process.exitCode = 1;
}
