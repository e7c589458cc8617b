#!/bin/sh
# Makes the registration service's prompts, pre-encoded for each codec it
# offers, so that nothing at install time needs a speech synthesizer or an
# encoder. Needs Debian's espeak-ng, sox and ffmpeg.
#   scripts/make-prompts.sh [language (espeak-ng voice)] [out dir]
# Each prompt is raw RTP payload: <name>.ulaw and <name>.alaw (8 kHz G.711),
# <name>.g722 (16 kHz G.722 at 64 kbit/s); all three are 160 bytes per 20 ms,
# padded with silence to whole frames.
set -eu
voice=${1:-en-us}
out=${2:-$(dirname "$0")/../prompts/en}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { # name, text
  espeak-ng -v "$voice" -s 165 -w "$tmp/$1.raw.wav" "$2"
  # Trim espeak's leading and trailing silence, then add 120 ms after the words
  # so that prompts played back to back do not run together.
  sox "$tmp/$1.raw.wav" -r 16000 -c 1 -b 16 "$tmp/$1.16k.wav" silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse pad 0 0.12 norm -3
  encode "$1"
}

encode() { # name
  secs=$(soxi -D "$tmp/$1.16k.wav")
  # Whole 20 ms frames.
  frames=$(awk -v s="$secs" 'BEGIN { f = int(s / 0.02); if (f * 0.02 < s) f++; print f }')
  sox "$tmp/$1.16k.wav" "$tmp/$1.padded.wav" pad 0 "$(awk -v f="$frames" -v s="$secs" 'BEGIN { printf "%.6f", f * 0.02 - s }')"
  sox "$tmp/$1.padded.wav" -r 8000 -t raw -e u-law -b 8 "$out/$1.ulaw"
  sox "$tmp/$1.padded.wav" -r 8000 -t raw -e a-law -b 8 "$out/$1.alaw"
  ffmpeg -loglevel error -y -i "$tmp/$1.padded.wav" -ar 16000 -ac 1 -c:a g722 -f g722 "$out/$1.g722"
}

say greeting "Welcome to phone activation."
say enter-code "Please enter your activation code."
for d in 0 1 2 3 4 5 6 7 8 9; do
  case $d in 0) w=zero;; 1) w=one;; 2) w=two;; 3) w=three;; 4) w=four;; 5) w=five;; 6) w=six;; 7) w=seven;; 8) w=eight;; 9) w=nine;; esac
  espeak-ng -v "$voice" -s 180 -w "$tmp/digit-$d.raw.wav" "$w"
  sox "$tmp/digit-$d.raw.wav" -r 16000 -c 1 -b 16 "$tmp/digit-$d.16k.wav" silence 1 0.01 0.5% reverse silence 1 0.01 0.5% reverse pad 0 0.08 norm -3
  encode "digit-$d"
done
say code-not-valid "That code is not valid."
say code-expired "That code has expired."
say goodbye "Too many tries. Goodbye."
say thank-you "Thank you. Your phone will now restart."
say system-busy "The system is busy. Please try again later."
# One frame of silence: what the caller hears between prompts, sent over and over.
sox -n -r 16000 -c 1 -b 16 "$tmp/silence.16k.wav" trim 0 0.02
encode silence
