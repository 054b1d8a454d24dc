#!/usr/bin/env Rscript
# One IAM operation through R's paws against $SSC_ENDPOINT; prints the result as JSON (dates as
# ...Z, absent members as null), or {"error": ...} on stderr with exit status 1.
# usage: R_LIBS=LIB SSC_ENDPOINT=http://127.0.0.1:PORT Rscript iam.R operation '{"UserName": "jane"}'
args <- commandArgs(trailingOnly = TRUE)
operation <- args[[1]]
params <- if (length(args) > 1) jsonlite::fromJSON(args[[2]]) else list()
Sys.setenv(AWS_ACCESS_KEY_ID = "t", AWS_SECRET_ACCESS_KEY = "t", AWS_REGION = "us-east-1")
jsonable <- function(x) {
  if (inherits(x, "POSIXct")) {
    if (length(x)) format(x, "%Y-%m-%dT%H:%M:%SZ", tz = "UTC") else NULL
  } else if (is.list(x)) lapply(x, jsonable) else if (length(x)) x else NULL
}
res <- tryCatch({
  svc <- paws.security.identity::iam(config = list(endpoint = Sys.getenv("SSC_ENDPOINT")))
  do.call(svc[[operation]], params)
}, error = function(e) {
  err <- list(class = class(e), message = conditionMessage(e), status_code = e$status_code,
              code = e$error_response$Code)
  cat(jsonlite::toJSON(list(error = err), auto_unbox = TRUE, null = "null"), "\n", file = stderr())
  quit(status = 1)
})
cat(jsonlite::toJSON(jsonable(res), auto_unbox = TRUE, null = "null"), "\n")
