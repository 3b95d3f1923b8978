# Arguments: <document> <output directory> <output file>. Renders from a writable copy of the
# bundle (knitr writes figures, caches and whatever chunks write next to the document), with
# the report's default parameters, into the output directory.
a <- commandArgs(TRUE)
options(warn = 1)
work <- lectern_work_copy()
setwd(work)
rmarkdown::render(
  a[1], output_dir = a[2], output_file = a[3],
  intermediates_dir = work, knit_root_dir = work, envir = new.env(parent = globalenv())
)
unlink(work, recursive = TRUE)
