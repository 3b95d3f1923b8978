# A writable copy of the bundle (the working directory, which may be read-only) in R's session
# temporary directory, removed when R exits. Files over 16 MB are linked, not copied: they are
# data to read. Copies are made with default permissions, so they are writable.
lectern_work_copy <- function(src = getwd()) {
  work <- tempfile("lectern-work-")
  dir.create(work)
  all <- list.files(src, all.files = TRUE, recursive = TRUE, include.dirs = TRUE, no.. = TRUE)
  isdir <- dir.exists(file.path(src, all))
  for (d in all[isdir]) dir.create(file.path(work, d), recursive = TRUE, showWarnings = FALSE)
  files <- all[!isdir]
  big <- file.size(file.path(src, files)) > 16 * 1024^2
  ok <- file.copy(file.path(src, files[!big]), file.path(work, files[!big]), copy.mode = FALSE, copy.date = TRUE)
  if (!all(ok)) stop("could not copy ", paste(files[!big][!ok], collapse = ", "), " to ", work)
  if (any(big)) file.symlink(normalizePath(file.path(src, files[big])), file.path(work, files[big]))
  work
}
