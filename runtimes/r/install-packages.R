# Installs packages into one library. Arguments: <library> <repository> <timeout seconds>
# then name=version for each package (version may be empty: any).
# Exit status 2: the repository's index could not be read (nothing was tried).
# Otherwise the caller checks what was installed; this script only tries its best.
a <- commandArgs(TRUE)
lib <- a[1]
repo <- sub("/+$", "", a[2])
options(timeout = as.numeric(a[3]), warn = 1, repos = c(CRAN = repo))
spec <- a[-(1:3)]
pkgs <- sub("=.*$", "", spec)
vers <- sub("^[^=]*=", "", spec)
.libPaths(c(lib, .libPaths()))
avail <- available.packages(repos = repo)
if (nrow(avail) == 0) {
  message("The repository ", repo, " could not be read (no package index at ", repo, "/src/contrib/PACKAGES).")
  quit(status = 2)
}
cur <- unname(avail[match(pkgs, avail[, "Package"]), "Version"])
fromIndex <- !is.na(cur) & (vers == "" | cur == vers)
if (any(fromIndex)) {
  message("Installing from ", repo, ": ", paste(pkgs[fromIndex], cur[fromIndex], collapse = ", "))
  install.packages(pkgs[fromIndex], lib = lib, repos = repo, type = "source")
}
# Versions the index does not carry: CRAN keeps older releases in src/contrib/Archive.
rest <- which(!fromIndex & vers != "")
got <- integer()
absent <- integer()
for (pass in 1:2) for (i in setdiff(rest, c(got, absent))) {
  url <- sprintf("%s/src/contrib/Archive/%s/%s_%s.tar.gz", repo, pkgs[i], pkgs[i], vers[i])
  f <- file.path(tempdir(), basename(url))
  if (!file.exists(f)) {
    ok <- tryCatch(download.file(url, f, quiet = TRUE) == 0, error = function(e) FALSE, warning = function(w) FALSE)
    if (!ok) {
      message(pkgs[i], " ", vers[i], " is not in the repository's archive either (", url, ")")
      unlink(f)
      absent <- c(absent, i)
      next
    }
  }
  message("Installing ", pkgs[i], " ", vers[i], " from the repository's archive")
  install.packages(f, lib = lib, repos = NULL, type = "source")
  if (pkgs[i] %in% rownames(installed.packages(lib.loc = lib, noCache = TRUE))) got <- c(got, i)
}
# Last resort: the repository's current version in place of the one asked for.
for (i in setdiff(rest, got)) {
  if (is.na(cur[i])) next
  message("Installing the repository's current ", pkgs[i], " ", cur[i], " in place of ", vers[i])
  install.packages(pkgs[i], lib = lib, repos = repo, type = "source")
}
