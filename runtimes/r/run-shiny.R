# Arguments: <app: the bundle directory, or a single-file app> <host> <port>
a <- commandArgs(TRUE)
options(warn = 1)
shiny::runApp(a[1], host = a[2], port = as.integer(a[3]), launch.browser = FALSE)
