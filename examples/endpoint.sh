# examples/endpoint.sh  (run it: bash examples/endpoint.sh, after make clients)
log=$(mktemp)
sscstub serve --port 0 --users jane >"$log" &
trap 'kill $!' EXIT
until grep -q ready "$log"; do sleep 0.1; done
eval "$(grep '^export' "$log")" # export AWS_ENDPOINT_URL_IAM=http://127.0.0.1:PORT
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""

# The AWS CLI v2 before 2.13 (Debian's 2.9) needs --endpoint-url; newer CLIs honour the variable.
aws2() { /usr/bin/aws --endpoint-url "$AWS_ENDPOINT_URL_IAM" "$@"; }
cid=$(aws2 iam create-service-specific-credential --user-name jane \
  --service-name codecommit.amazonaws.com \
  --query ServiceSpecificCredential.ServiceSpecificCredentialId --output text)
aws2 iam reset-service-specific-credential --user-name jane --service-specific-credential-id "$cid"
aws2 iam list-service-specific-credentials --user-name nobody || echo "exit $? (NoSuchEntity)"

# The JavaScript SDK v3 honours AWS_ENDPOINT_URL_IAM.
NODE_PATH=tests/clients/js/node_modules node examples/endpoint.cjs

# The test API: JSON under /_sscstub/.
curl -s "$AWS_ENDPOINT_URL_IAM/_sscstub/credentials"
curl -s -X POST "$AWS_ENDPOINT_URL_IAM/_sscstub/errors" -H "Content-Type: application/json" \
  -d '{"operation": "create_service_specific_credential", "code": "Throttling", "times": 1}'
curl -s -X POST "$AWS_ENDPOINT_URL_IAM/_sscstub/authenticate" -H "Content-Type: application/json" \
  -d '{"service_user_name": "jane-at-123456789012", "password": "not-it"}'
