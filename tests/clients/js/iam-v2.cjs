// Runs one IAM operation through the AWS SDK for JavaScript v2 (npm's aws-sdk, still common in
// older code) and prints the result, or {"error": {...}}, as JSON. v2 does not read
// AWS_ENDPOINT_URL or AWS_ENDPOINT_URL_IAM: the endpoint is the client's `endpoint` option.
// usage: node iam-v2.cjs ENDPOINT operationName '{"UserName": "jane", ...}'
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = "1";
const AWS = require("aws-sdk");

const [endpoint, operation, input] = process.argv.slice(2);
const iam = new AWS.IAM({
  endpoint,
  region: "us-east-1",
  credentials: new AWS.Credentials("testing", "testing"),
  maxRetries: 0,
});
iam[operation](JSON.parse(input || "{}"))
  .promise()
  .then((out) => {
    delete out.ResponseMetadata;
    console.log(JSON.stringify(out));
  })
  .catch((e) => {
    console.log(JSON.stringify({ error: { code: e.code, message: e.message, status: e.statusCode } }));
    process.exitCode = 1;
  });
