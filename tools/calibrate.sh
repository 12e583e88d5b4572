#!/bin/sh
# The long calibration run of docs/analysis.md: 200 simulated studies per
# regime (gaps only; gaps + probe noise; few models near the top), coverage
# and median width of every 95% interval xfer prints, the least-squares
# bootstrap intervals included. Requires the default e_IR interval to cover
# the true e_IR in >= 90% of the studies of every regime.
#
#     tools/calibrate.sh [STUDIES [REGIME]]   (gaps, gaps+noise or few-top;
#                                              about 10 minutes a regime on one core)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
make build/xfer-tests >/dev/null
if [ -n "${2:-}" ]; then export XFER_CALIBRATION_REGIME="$2"; fi
XFER_CALIBRATION_STUDIES=${1:-200} XFER_CALIBRATION_BOOTSTRAP=1 \
    build/xfer-tests --filter 'calibration/default_e_ir_interval_covers_in_every_regime'
