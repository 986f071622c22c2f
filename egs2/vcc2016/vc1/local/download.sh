#!/usr/bin/env bash
# Usage: local/download.sh <dest_dir>
# Downloads and extracts the VCC2016 training and evaluation archives into
# <dest_dir>. Each archive is fetched to a .part file with retries, checked
# with `unzip -t` (every member's CRC), renamed, and only then extracted; a
# marker file says the extraction finished. Re-running resumes where it stopped.
set -euo pipefail

dest=${1:?Usage: $0 <dest_dir>}
# University of Edinburgh DataShare item 10283/2211 (older links used the
# datashare.is.ed.ac.uk host). Override with VCC2016_URL_BASE for a mirror.
url_base=${VCC2016_URL_BASE:-https://datashare.ed.ac.uk/bitstream/handle/10283/2211}
archives="vcc2016_training.zip evaluation_all.zip"
retries=${VCC2016_DOWNLOAD_RETRIES:-3}
retry_wait=${VCC2016_RETRY_WAIT:-5}   # seconds, times the attempt number

mkdir -p "${dest}"
for archive in ${archives}; do
    name=${archive%.zip}
    if [ -f "${dest}/.${name}.extracted" ]; then
        echo "$0: ${dest}/${name} already extracted"
        continue
    fi
    zip=${dest}/${archive}
    if [ ! -f "${zip}" ]; then
        ok=false
        for attempt in $(seq "${retries}"); do
            echo "$0: downloading ${url_base}/${archive} (attempt ${attempt}/${retries})"
            if curl --fail --location --continue-at - --retry 2 --connect-timeout 30 \
                    --output "${zip}.part" "${url_base}/${archive}"; then
                if unzip -tq "${zip}.part" >/dev/null 2>&1; then
                    mv "${zip}.part" "${zip}"; ok=true; break
                fi
                echo "$0: ${zip}.part failed the archive check; downloading it again" >&2
                rm -f "${zip}.part"
            fi
            [ "${attempt}" -lt "${retries}" ] && sleep $(( attempt * retry_wait ))
        done
        if ! ${ok}; then
            echo "$0: could not download ${url_base}/${archive} after ${retries} attempts." >&2
            echo "  Download it by hand into ${dest}/, or point VCC2016 in db.sh at an extracted copy." >&2
            exit 1
        fi
    fi
    unzip -tq "${zip}" >/dev/null || { echo "$0: ${zip} is corrupt; delete it and re-run" >&2; exit 1; }
    rm -rf "${dest}/${name}.tmp"
    unzip -q "${zip}" -d "${dest}/${name}.tmp"
    # The archive may or may not hold a top-level folder of its own name.
    if [ -d "${dest}/${name}.tmp/${name}" ]; then src=${dest}/${name}.tmp/${name}; else src=${dest}/${name}.tmp; fi
    rm -rf "${dest:?}/${name}"
    mv "${src}" "${dest}/${name}"
    rm -rf "${dest}/${name}.tmp"
    touch "${dest}/.${name}.extracted"
done
