# Arguments: <document> <host> <port>. Runs from a writable copy of the bundle: a
# `runtime: shiny_prerendered` document is rendered next to itself, and chunks may write files.
a <- commandArgs(TRUE)
options(warn = 1)
work <- lectern_work_copy()
setwd(work)
rmarkdown::run(
  file = a[1], dir = work, auto_reload = FALSE,
  shiny_args = list(host = a[2], port = as.integer(a[3]), launch.browser = FALSE)
)
