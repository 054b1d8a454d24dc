# examples/endpoint_upstream.sh  (run it: bash examples/endpoint_upstream.sh, after make clients)
# sscstub in front of any endpoint (here a moto server): everything else is relayed to it.
port=$(python -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])')
moto_server -p "$port" >/dev/null 2>&1 &
moto=$!
log=$(mktemp)
sscstub serve --upstream http://127.0.0.1:$port --port 0 >"$log" &
trap 'kill $! $moto' EXIT
until grep -q ready "$log" && curl -s -o /dev/null http://127.0.0.1:$port; do sleep 0.1; done
url=$(sed -n 's/^sscstub serving IAM at //p' "$log")
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""

aws2() { /usr/bin/aws --endpoint-url "$url" "$@"; }
aws2 iam create-user --user-name bob >/dev/null # relayed to moto
aws2 iam create-service-specific-credential --user-name bob \
  --service-name codecommit.amazonaws.com --query ServiceSpecificCredential.UserName
aws2 iam delete-user --user-name bob || echo "exit $? (DeleteConflict, checked before relaying)"

# The AWS CLI plugin beside a moto server: users are looked up there (no SSCSTUB_USERS).
config=$(mktemp)
printf '[plugins]\ncli_legacy_plugin_path = %s\nsscstub = sscstub.awscli\n' "$PWD" >"$config"
export AWS_CONFIG_FILE=$config SSCSTUB_UPSTREAM=http://127.0.0.1:$port SSCSTUB_STATE=$(mktemp -u)
moto() { /usr/bin/aws --endpoint-url http://127.0.0.1:$port "$@"; }
moto iam create-user --user-name erin >/dev/null
moto iam create-service-specific-credential --user-name erin \
  --service-name codecommit.amazonaws.com --query ServiceSpecificCredential.ServiceUserName
moto iam delete-user --user-name erin || echo "exit $? (DeleteConflict, from the plugin)"
