// examples/endpoint_sdk_v2.cjs  (npm install aws-sdk; the endpoint's URL as the argument)
// The JavaScript SDK v2 ignores AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_IAM: pass `endpoint`.
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = "1";
const AWS = require("aws-sdk");

(async () => {
  const iam = new AWS.IAM({ endpoint: process.argv[2], region: "us-east-1" });
  await iam.createUser({ UserName: "dave" }).promise();
  const out = await iam
    .createServiceSpecificCredential({ UserName: "dave", ServiceName: "codecommit.amazonaws.com" })
    .promise();
  console.log(out.ServiceSpecificCredential.ServiceUserName);
})();
