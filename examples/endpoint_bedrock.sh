# examples/endpoint_bedrock.sh  (run it: bash examples/endpoint_bedrock.sh, after make clients)
log=$(mktemp)
sscstub serve --port 0 --users app >"$log" &
trap 'kill $!' EXIT
until grep -q ready "$log"; do sleep 0.1; done
url=$(sed -n 's/^sscstub serving IAM at //p' "$log")
export AWS_REGION=us-east-1 AWS_ENDPOINT_URL_BEDROCK_RUNTIME=$url
export NODE_PATH=tests/clients/js/node_modules

iam() { curl -s "$url" -d Version=2010-05-08 "$@"; } # IAM's query protocol, by hand
tag() { sed -n "s:.*<$1>\([^<]*\)</$1>.*:\1:p"; }
made=$(iam -d Action=CreateServiceSpecificCredential -d UserName=app \
  -d ServiceName=bedrock.amazonaws.com)
key=$(tag ServiceCredentialSecret <<<"$made")
AWS_BEARER_TOKEN_BEDROCK=$key node examples/endpoint_bedrock.cjs # 501 NotImplemented: accepted
iam -d Action=ResetServiceSpecificCredential -d UserName=app \
  -d ServiceSpecificCredentialId="$(tag ServiceSpecificCredentialId <<<"$made")" >/dev/null
AWS_BEARER_TOKEN_BEDROCK=$key node examples/endpoint_bedrock.cjs # 403 AccessDeniedException
