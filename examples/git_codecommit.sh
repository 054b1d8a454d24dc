# examples/git_codecommit.sh  (run it: bash examples/git_codecommit.sh; needs git)
# CodeCommit's HTTPS git credentials, used by git itself: clone and push /v1/repos/<name>.
log=$(mktemp)
work=$(mktemp -d)
sscstub serve --port 0 --users jane >"$log" &
trap 'kill $!; rm -rf "$work"' EXIT
until grep -q ready "$log"; do sleep 0.1; done
url=$(sed -n 's/^sscstub serving IAM at //p' "$log")
curl -s -X POST "$url/_sscstub/repos" -H "Content-Type: application/json" -d '{"name": "demo"}'
echo # {"repos": ["demo"]}

iam() { curl -s "$url" -d Version=2010-05-08 -d UserName=jane "$@"; } # IAM's query protocol
tag() { sed -n "s:.*<$1>\([^<]*\)</$1>.*:\1:p"; }
made=$(iam -d Action=CreateServiceSpecificCredential -d ServiceName=codecommit.amazonaws.com)
user=$(tag ServiceUserName <<<"$made")
password=$(tag ServicePassword <<<"$made" | python -c 'import sys, urllib.parse as u;
print(u.quote(sys.stdin.read().strip(), safe=""))') # a URL's userinfo, percent-encoded
export GIT_TERMINAL_PROMPT=0 GIT_AUTHOR_NAME=jane GIT_AUTHOR_EMAIL=jane@example.com
export GIT_COMMITTER_NAME=jane GIT_COMMITTER_EMAIL=jane@example.com
git clone -q "http://$user:$password@${url#http://}/v1/repos/demo" "$work/demo"
git -C "$work/demo" commit -q --allow-empty -m "first" && git -C "$work/demo" push -q origin HEAD:main
git -C "$work/demo" log --oneline origin/main

iam -d Action=ResetServiceSpecificCredential \
  -d ServiceSpecificCredentialId="$(tag ServiceSpecificCredentialId <<<"$made")" >/dev/null
git -C "$work/demo" fetch -q || echo "exit $? (the old password is refused: The requested URL returned error: 403)"
