#!/usr/bin/env bash
set -e
echo "installing the test helpers"
pip3 install downstack-no-such-package-exists==0.0.0
