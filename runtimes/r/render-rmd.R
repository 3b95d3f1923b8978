# Arguments: <document> <output directory> <output file>. Renders from a writable copy of the
# bundle (knitr writes figures, caches and whatever chunks write next to the document) into the
# output directory. Parameters come as JSON in LECTERN_RENDER_PARAMS (a variant's; unset: the
# document's own defaults), never on the command line.
a <- commandArgs(TRUE)
options(warn = 1)
lectern_params <- Sys.getenv("LECTERN_RENDER_PARAMS")
lectern_params <- if (nzchar(lectern_params)) jsonlite::fromJSON(lectern_params, simplifyDataFrame = FALSE, simplifyMatrix = FALSE)
Sys.unsetenv("LECTERN_RENDER_PARAMS")
work <- lectern_work_copy()
setwd(work)
result <- rmarkdown::render(
  a[1], output_dir = a[2], output_file = a[3], params = lectern_params,
  intermediates_dir = work, knit_root_dir = work, envir = new.env(parent = globalenv())
)
# The document's output metadata (front matter rmd_output_metadata, output_metadata$set() in
# chunks: blastula's email) for the server, which reads and removes it. A NULL entry is
# dropped rather than written as {} (which would read as an object); with auto_unbox a
# one-element vector becomes a scalar, which the server reads as a one-element list.
lectern_meta <- Filter(Negate(is.null), as.list(attr(result, "rmd_output_metadata")))
# Files the document names as output files or attachments are where it wrote them, in the
# copy, which goes: they are copied into the output (Connect renders in place, where they
# stay). One that is missing is said and skipped, as Connect does.
for (f in unique(unlist(lectern_meta[c("rsc_output_files", "rsc_email_attachments")]))) {
  if (!is.character(f) || !nzchar(f) || grepl("^([/\\\\]|[A-Za-z]:)", f) || grepl("(^|[/\\\\])[.][.]([/\\\\]|$)", f)) next
  if (file.exists(file.path(a[2], f))) next
  if (!file_test("-f", file.path(work, f))) {
    message("Lectern: ", f, " is named in the output metadata but the render did not leave it.")
    next
  }
  dir.create(dirname(file.path(a[2], f)), recursive = TRUE, showWarnings = FALSE)
  file.copy(file.path(work, f), file.path(a[2], f))
}
if (length(lectern_meta)) {
  json <- jsonlite::toJSON(lectern_meta, auto_unbox = TRUE, null = "null", na = "null", digits = NA, force = TRUE)
  writeLines(enc2utf8(as.character(json)), file.path(a[2], ".output_metadata.json"), useBytes = TRUE)
}
unlink(work, recursive = TRUE)
