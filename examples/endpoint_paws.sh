# examples/endpoint_paws.sh  (run it: bash examples/endpoint_paws.sh, after make clients)
log=$(mktemp)
sscstub serve --port 0 --users jane >"$log" &
trap 'kill $!' EXIT
until grep -q ready "$log"; do sleep 0.1; done
eval "$(grep '^export' "$log")" # export AWS_ENDPOINT_URL_IAM=http://127.0.0.1:PORT

# R's paws takes the endpoint in its config (examples/endpoint.R reads the variable).
R_LIBS=.paws-lib Rscript examples/endpoint.R
