# examples/endpoint.R  (paws; SSC endpoint from AWS_ENDPOINT_URL_IAM)
iam <- paws.security.identity::iam(config = list(
  endpoint = Sys.getenv("AWS_ENDPOINT_URL_IAM"),
  credentials = list(creds = list(access_key_id = "t", secret_access_key = "t")),
  region = "us-east-1"
))
key <- iam$create_service_specific_credential(
  UserName = "jane", ServiceName = "logs.amazonaws.com", CredentialAgeDays = 7
)
cat(key$ServiceSpecificCredential$ServiceCredentialAlias, "\n")
