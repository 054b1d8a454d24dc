// examples/endpoint_bedrock.cjs  (npm install @aws-sdk/client-bedrock-runtime)
// The application's Bedrock client, as it is: the key from AWS_BEARER_TOKEN_BEDROCK, the
// endpoint from AWS_ENDPOINT_URL_BEDROCK_RUNTIME.
const { BedrockRuntimeClient, ConverseCommand } = require("@aws-sdk/client-bedrock-runtime");
const { NodeHttpHandler } = require("@smithy/node-http-handler");

(async () => {
  // Its default handler speaks HTTP/2; the local endpoint is plain HTTP/1.1.
  const client = new BedrockRuntimeClient({ requestHandler: new NodeHttpHandler() });
  try {
    await client.send(
      new ConverseCommand({
        modelId: "anthropic.claude-3-haiku-20240307-v1:0",
        messages: [{ role: "user", content: [{ text: "hello" }] }],
      }),
    );
  } catch (e) {
    console.log(e.$metadata.httpStatusCode, e.name); // 403 refused, or 501: accepted
  }
})();
