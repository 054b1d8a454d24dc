# examples/awscli_plugin.sh  (run it: bash examples/awscli_plugin.sh, after make clients)
dir=$(mktemp -d)
cat >"$dir/config" <<CONFIG
[plugins]
cli_legacy_plugin_path = $PWD
sscstub = sscstub.awscli
CONFIG
export AWS_CONFIG_FILE="$dir/config" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
export AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" SSCSTUB_USERS=jane SSCSTUB_STATE="$dir/state.db"

create() {
  /usr/bin/aws iam create-service-specific-credential --user-name jane \
    --service-name codecommit.amazonaws.com \
    --query ServiceSpecificCredential.ServiceUserName --output text
}
create # jane-at-123456789012
create # jane+1-at-123456789012: the state carried over in $SSCSTUB_STATE
create || echo "exit $? (LimitExceeded)"
