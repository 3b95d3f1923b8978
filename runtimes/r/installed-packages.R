# Lists the packages R can see, in .libPaths() order (the first copy of a name is the one
# library() loads). Output, one record a line, tab-separated:
#   R <version>
#   LIB <path>
#   PKG <name> <version> <priority or empty> <library path>
options(warn = 1)
cat("R\t", as.character(getRversion()), "\n", sep = "")
for (l in .libPaths()) cat("LIB\t", l, "\n", sep = "")
ip <- installed.packages(noCache = TRUE)
pr <- ip[, "Priority"]
pr[is.na(pr)] <- ""
cat(sprintf("PKG\t%s\t%s\t%s\t%s\n", ip[, "Package"], ip[, "Version"], pr, ip[, "LibPath"]), sep = "")
