"""Where the build puts what the harness boots."""
import os

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(ROOT, "build")
ESP_IMAGE = os.path.join(BUILD, "esp.img")
OVMF_FD = "/usr/share/ovmf/OVMF.fd"
