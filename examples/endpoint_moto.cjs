// examples/endpoint_moto.cjs  (npm install @aws-sdk/client-iam; AWS_ENDPOINT_URL set)
const iam = require("@aws-sdk/client-iam");

(async () => {
  const client = new iam.IAMClient({ region: "us-east-1" });
  await client.send(new iam.CreateUserCommand({ UserName: "carol" })); // moto's
  const out = await client.send(
    new iam.CreateServiceSpecificCredentialCommand({
      UserName: "carol",
      ServiceName: "codecommit.amazonaws.com",
    }),
  ); // sscstub's
  console.log(out.ServiceSpecificCredential.ServiceUserName);
})();
