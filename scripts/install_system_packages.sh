#!/usr/bin/env bash
# Debian packages the tests need: Chromium for the browser tests (never a browser download from
# a test tool), and Node.js with npm for Lighthouse when the machine has none (Lighthouse 12.2.3
# asks for Node 18.16 or newer: Debian 12's 18.19 qualifies). With --tex, also the TeX Live that
# `make pdf` needs (pdflatex, latexmk and the LaTeX packages and fonts Sphinx's LaTeX writer uses;
# about 1 minute and 400 MB on a fresh machine). Installs only what is missing; needs root or sudo.
set -euo pipefail
needed=()
command -v chromium >/dev/null 2>&1 || needed+=(chromium)
fc-list 2>/dev/null | grep -qi "dejavu" || needed+=(fonts-dejavu-core)
command -v npm >/dev/null 2>&1 || needed+=(nodejs npm)
if [ "${1:-}" = "--tex" ]; then
  # Sphinx's pdflatex preamble: fncychap, titlesec, tabulary, framed, wrapfig, capt-of, needspace,
  # upquote (latex-extra); tgtermes/tgheros (tex-gyre); txtt (fonts-recommended); latexmk runs it.
  command -v pdflatex >/dev/null 2>&1 || needed+=(texlive-latex-recommended texlive-fonts-recommended)
  kpsewhich fncychap.sty >/dev/null 2>&1 || needed+=(texlive-latex-extra)
  kpsewhich tgtermes.sty >/dev/null 2>&1 || needed+=(tex-gyre)
  command -v latexmk >/dev/null 2>&1 || needed+=(latexmk)
fi
if [ ${#needed[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "install_system_packages: need root (or sudo) to apt-get install ${needed[*]}" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${needed[@]}"
