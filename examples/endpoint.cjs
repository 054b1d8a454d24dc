// examples/endpoint.cjs  (npm install @aws-sdk/client-iam; AWS_ENDPOINT_URL_IAM set)
const { IAMClient, CreateServiceSpecificCredentialCommand } = require("@aws-sdk/client-iam");

(async () => {
  const iam = new IAMClient({ region: "us-east-1" });
  const out = await iam.send(
    new CreateServiceSpecificCredentialCommand({
      UserName: "jane",
      ServiceName: "bedrock.amazonaws.com",
      CredentialAgeDays: 30,
    }),
  );
  const key = out.ServiceSpecificCredential;
  console.log(key.ServiceCredentialAlias, key.ExpirationDate.toISOString());
})();
