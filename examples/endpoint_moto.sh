# examples/endpoint_moto.sh  (run it: bash examples/endpoint_moto.sh, after make clients)
# One endpoint for all of AWS: sscstub's five operations, and moto for everything else.
log=$(mktemp)
sscstub serve --moto --port 0 >"$log" & # pip install 'sscstub[moto]'
trap 'kill $!' EXIT
until grep -q ready "$log"; do sleep 0.1; done
url=$(sed -n 's/^sscstub serving IAM at //p' "$log")
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
export AWS_ENDPOINT_URL=$url # every service (the AWS CLI v1 and v2.13+, the JavaScript SDK v3)

aws2() { /usr/bin/aws --endpoint-url "$url" "$@"; } # Debian's CLI v2 (2.9) predates the variable
aws2 iam create-user --user-name bob >/dev/null # moto's
cid=$(aws2 iam create-service-specific-credential --user-name bob \
  --service-name codecommit.amazonaws.com \
  --query ServiceSpecificCredential.ServiceSpecificCredentialId --output text) # sscstub's
aws2 iam delete-user --user-name bob || echo "exit $? (DeleteConflict: bob still has one)"
aws2 iam delete-service-specific-credential --user-name bob --service-specific-credential-id "$cid"
aws2 iam delete-user --user-name bob
aws2 ssm put-parameter --name /app/db --value s3cret --type SecureString >/dev/null
aws2 ssm get-parameter --name /app/db --with-decryption --query Parameter.Value --output text

# The JavaScript SDK v3 reads AWS_ENDPOINT_URL; v2 (aws-sdk) takes an `endpoint` option.
NODE_PATH=tests/clients/js/node_modules node examples/endpoint_moto.cjs
NODE_PATH=tests/clients/js/node_modules node examples/endpoint_sdk_v2.cjs "$url"
