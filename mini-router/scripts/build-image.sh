#!/usr/bin/env bash
# Builds the mini-router container image: scripts/build-images.sh for mini-router alone
# (its options apply: --context-only, --context DIR, --tag TAG, --from-source, --platform).
# The image is ferrolb/mini-router:vVERSION unless --tag says otherwise.
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/scripts/build-images.sh" "$@" mini-router
