#!/usr/bin/env bash
set -e
apt-get install -y build-essential
