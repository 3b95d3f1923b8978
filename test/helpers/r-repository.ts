import { execFileSync } from 'node:child_process';

/**
 * Makes `repo` a CRAN-like repository on disk holding one source package, `name` 0.1.0, whose
 * `configure` script is `configure` (what the security tests have a package's build code do).
 * Its `hello()` returns "<name> 0.1.0".
 */
export function rSourceRepository(repo: string, name: string, configure: string): void {
  const script = `
    a <- commandArgs(TRUE)
    src <- file.path(tempdir(), a[3])
    dir.create(file.path(src, "R"), recursive = TRUE)
    writeLines(c(paste("Package:", a[3]), "Version: 0.1.0", "Title: Test Package", "Description: Lectern's security tests.", "License: MIT",
      "Authors@R: person('A', 'B', email = 'a@example.com', role = c('aut', 'cre'))"), file.path(src, "DESCRIPTION"))
    writeLines("export(hello)", file.path(src, "NAMESPACE"))
    writeLines(sprintf("hello <- function() '%s 0.1.0'", a[3]), file.path(src, "R", "hello.R"))
    writeLines(a[2], file.path(src, "configure"))
    Sys.chmod(file.path(src, "configure"), "755")
    dest <- file.path(a[1], "src/contrib")
    dir.create(dest, recursive = TRUE)
    setwd(dest)
    stopifnot(system2(file.path(R.home("bin"), "R"), c("CMD", "build", "--no-manual", shQuote(src))) == 0)
    tools::write_PACKAGES(dest, type = "source")
  `;
  execFileSync('/usr/bin/Rscript', ['-e', script, repo, configure, name], { stdio: 'pipe' });
  execFileSync('chmod', ['-R', 'a+rX', repo]);
}
