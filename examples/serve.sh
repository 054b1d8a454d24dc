# examples/serve.sh  (a server in the background, as a test script would start one)
log=$(mktemp)
sscstub serve --port 0 --users jane,ci-bot --account-id 111122223333 >"$log" &
trap 'kill $!' EXIT
until grep -q ready "$log"; do sleep 0.1; done
cat "$log" # the URL, the export line, the ready line
