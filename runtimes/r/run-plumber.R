# Arguments: <host> <port>. plumb(dir =) finds entrypoint.R or plumber.R.
a <- commandArgs(TRUE)
options(warn = 1)
plumber::pr_run(plumber::plumb(dir = getwd()), host = a[1], port = as.integer(a[2]))
