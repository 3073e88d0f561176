# Shared steps of scripts/demo and scripts/test (sourced, not run).
# Each step checks first and installs only what is missing.

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
need_debian_packages() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "Installing Debian packages: ${missing[*]}" >&2
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# A command, installing the Debian package that provides it when it is missing.
need_command() {
  command -v "$1" >/dev/null 2>&1 || need_debian_packages "$2"
}

# The TrueType fonts the signs are set in (builder/sign_fonts.py): Noto Sans and Noto
# Sans Arabic, and WenQuanYi Zen Hei for Chinese (Debian's Noto CJK is CFF, which
# ReportLab cannot embed). Nothing is downloaded when a sign is built.
need_sign_fonts() {
  need_debian_packages fonts-noto-core fonts-wqy-zenhei
}

# A virtual environment in .venv with Python 3.11 or newer.
ensure_venv() {
  local python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Quiet Door needs Python 3.11 or newer as '$python' (set PYTHON=... to choose another)." >&2
    exit 1
  fi
  if [ ! -x .venv/bin/python ]; then
    if ! "$python" -m venv .venv 2>/dev/null; then
      rm -rf .venv
      need_debian_packages python3-venv
      "$python" -m venv .venv
    fi
  fi
}
