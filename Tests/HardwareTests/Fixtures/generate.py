#!/usr/bin/env python3
"""Regenerates the small fixtures in this folder (deterministic; run from this folder).

- lid_bounce.edges: a lid micro-switch opening and closing, with contact bounce, as
  `<rising|falling> <CLOCK_MONOTONIC ns>` lines. Synthetic, in the format the adapter records,
  modelled on typical micro-switch bounce (a handful of bounces within ~2 ms).
- hcsr04_pings.edges: synthetic HC-SR04 echo edges for several pings; `ping <trigger ns>` starts each.
- hcsr04_fill.edges / hcsr04_fill_poll.edges: an HC-SR04 above a compartment, readings of five
  pings each (see below).
- button_presses.edges: an "emptied" push button (to GND, active low; logical edges): a bouncy
  press, a 3 ms spike, a double click, a clean press.
- bars_16x8.yuyv / bars_16x8_stride40.yuyv: YUYV colour bars (white, red, green, blue, 4 px
  each), tight rows and rows padded to 40 bytes, BT.601 limited range.
- patches_8x4.yuyv / patches_8x4.rgb: YUYV samples away from the clamping limits (a grey ramp,
  skin, cardboard, glass-green and plastic-blue tones, plus extremes), and the RGB the real-valued
  BT.601 limited-range conversion gives for them, rounded (computed here from Kr = 0.299 and
  Kb = 0.114, not with the firmware's integer constants).
- blocks_64x64.mjpg: a UVC-style MJPEG frame: 4:2:2, AVI1 APP0 and no DHT segment (cameras leave
  the standard Huffman tables out), 4x3 flat 16x16 colour blocks (BLOCKS below) above a 16 px
  band with a horizontal gradient (red 0 → 252 in steps of 4, blue the reverse), encoded by
  Pillow at quality 90. Needs Pillow (tools/requirements.txt).
- camera_ring.dqbuf: what VIDIOC_DQBUF returned around capture requests, one scenario each, in
  the form the camera adapter sees (synthetic, modelled on a UVC webcam at 30 fps with a ring
  of 3 mmap buffers and start-of-frame timestamps).
"""
ns = 1_000_000_000
lines = ["# lid switch, active-low with pull-up; logical edges; ns on CLOCK_MONOTONIC"]
t = 5 * ns
# open at t: bounce rising/falling, settles high
for kind, dt in [("rising", 0), ("falling", 180_000), ("rising", 420_000), ("falling", 900_000), ("rising", 1_300_000)]:
    lines.append(f"{kind} {t + dt}")
# close 2.5 s later: bounce ends low
t2 = t + 2_500_000_000
for kind, dt in [("falling", 0), ("rising", 250_000), ("falling", 600_000), ("rising", 1_100_000), ("falling", 1_700_000)]:
    lines.append(f"{kind} {t2 + dt}")
# a burst that ends opposite to its first edge (open blip that ends closed = glitch): rising then falling 3 ms later
t3 = t2 + 1_000_000_000
lines += [f"rising {t3}", f"falling {t3 + 3_000_000}"]
open("lid_bounce.edges", "w").write("\n".join(lines) + "\n")

c = 331.3 * (1 + 20 / 273.15) ** 0.5  # m/s at 20 C
def width_ns(cm):
    return round(cm / 100 * 2 / c * ns)
pings = ["# HC-SR04 echo line; 'ping <ns>' = end of the 10 us trigger pulse; then echo edges"]
base = 10 * ns
distances = [31.8, 32.1, 31.9, None, 120.0]  # None: no echo (lost ping)
for i, d in enumerate(distances):
    trig = base + i * 60_000_000
    pings.append(f"ping {trig}")
    if d is None:
        continue
    rise = trig + 460_000 + i * 1000
    pings += [f"rising {rise}", f"falling {rise + width_ns(d)}"]
# too far: 38 ms no-object pulse
trig = base + 5 * 60_000_000
pings += [f"ping {trig}", f"rising {trig + 460_000}", f"falling {trig + 460_000 + 38_000_000}"]
# too close: 100 us
trig = base + 6 * 60_000_000
pings += [f"ping {trig}", f"rising {trig + 460_000}", f"falling {trig + 460_000 + 100_000}"]
open("hcsr04_pings.edges", "w").write("\n".join(pings) + "\n")

def yuv(r, g, b):
    y = round(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255)
    u = round(128 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255)
    v = round(128 + (112.0 * r - 93.786 * g - 18.214 * b) / 255)
    return y, u, v
bars = [(255, 255, 255), (255, 0, 0), (0, 255, 0), (0, 0, 255)]
w, h = 16, 8
def row(stride):
    out = bytearray()
    for x in range(0, w, 2):
        y, u, v = yuv(*bars[x // 4])
        out += bytes([y, u, y, v])
    out += bytes([0xEE] * (stride - len(out)))
    return out
open("bars_16x8.yuyv", "wb").write(b"".join(row(32) for _ in range(h)))
open("bars_16x8_stride40.yuyv", "wb").write(b"".join(row(40) for _ in range(h)))

# hcsr04_fill.edges: an HC-SR04 above a compartment (floor at 60 cm, full at 10 cm), four
# readings of five pings each; 'reading <n>' starts each reading.
fill = ["# HC-SR04 above a compartment; 'reading <n>' starts a reading of 5 pings; 'ping <ns>' = end of trigger"]
readings = [
    [59.6, 60.2, None, 60.0, 59.9],      # empty (one lost ping)
    [35.1, 34.9, 35.0, 120.0, 35.2],     # half full (one stray echo)
    [12.4, 12.5, 12.6, 12.5, 12.3],      # nearly full: 95 %
    ["close"] * 5,                       # contents at the sensor: full
]
t = 20 * ns
for n, series in enumerate(readings):
    fill.append(f"reading {n + 1}")
    for d in series:
        fill.append(f"ping {t}")
        if d == "close":
            fill += [f"rising {t + 460_000}", f"falling {t + 460_000 + 80_000}"]
        elif d is not None:
            fill += [f"rising {t + 460_000}", f"falling {t + 460_000 + width_ns(d)}"]
        t += 60_000_000
    t += 1_000_000_000
open("hcsr04_fill.edges", "w").write("\n".join(fill) + "\n")

# hcsr04_fill_poll.edges: what the fill poller reads from one compartment (floor at 60 cm, full
# at 10 cm) over ten polls 30 s apart: filling, a stray reading, a sensor gone quiet, filling up,
# then emptied (two readings near the floor).
poll = ["# HC-SR04 fill poller: 'reading <n>' starts a poll of 5 pings; 'ping <ns>' = end of trigger"]
polls = [
    [45.0, 45.1, 44.9, 45.0, 45.2],      # 30 %
    [42.0, 41.9, 42.1, 42.0, 42.0],      # 36 %
    [15.0, 15.1, 14.9, 15.0, 15.0],      # 90 %: a jump (something under the sensor), not confirmed
    [41.0, 41.1, 40.9, None, 41.0],      # 38 %
    [None] * 5,                          # no echo at all
    [None] * 5,                          # still none
    [14.0, 14.1, 13.9, 14.0, 14.0],      # 92 %: a jump after a lot went in
    [13.5, 13.6, 13.4, 13.5, 13.5],      # 93 %: confirms it
    [58.0, 58.1, 57.9, 58.0, 58.0],      # 4 %: emptied? a jump
    [58.5, 58.4, 58.6, 58.5, 58.5],      # 3 %: confirmed: a sharp drop
]
t = 100 * ns
for n, series in enumerate(polls):
    poll.append(f"reading {n + 1}")
    for i, d in enumerate(series):
        trig = t + i * 60_000_000
        poll.append(f"ping {trig}")
        if d is not None:
            rise = trig + 460_000
            poll += [f"rising {rise}", f"falling {rise + width_ns(d)}"]
    t += 30 * ns
open("hcsr04_fill_poll.edges", "w").write("\n".join(poll) + "\n")

# button_presses.edges: logical edges (rising = pressed) of an emptied button.
button = ["# emptied button to GND, active low with pull-up; logical edges (rising = pressed); ns"]
t = 1 * ns
# a press with contact bounce, held 250 ms, released with bounce
for kind, dt in [("rising", 0), ("falling", 200_000), ("rising", 450_000), ("falling", 900_000), ("rising", 1_300_000),
                 ("falling", 250_000_000), ("rising", 250_300_000), ("falling", 250_700_000)]:
    button.append(f"{kind} {t + dt}")
t = 3 * ns  # a 3 ms spike: no press
button += [f"rising {t}", f"falling {t + 3_000_000}"]
t = 5 * ns  # a double click: one press
button += [f"rising {t}", f"falling {t + 150_000_000}", f"rising {t + 600_000_000}", f"falling {t + 750_000_000}"]
t = 8 * ns  # a clean press
button += [f"rising {t}", f"falling {t + 200_000_000}"]
open("button_presses.edges", "w").write("\n".join(button) + "\n")

# patches_8x4.yuyv: four rows of four Y0 U Y1 V groups; patches_8x4.rgb: the expected RGB.
def bt601_rgb(y, u, v):
    kr, kb = 0.299, 0.114
    kg = 1 - kr - kb
    luma = (y - 16) * 255 / 219
    cb, cr = (u - 128) * 255 / 224, (v - 128) * 255 / 224
    r = luma + 2 * (1 - kr) * cr
    g = luma - (2 * kb * (1 - kb) / kg) * cb - (2 * kr * (1 - kr) / kg) * cr
    b = luma + 2 * (1 - kb) * cb
    return [int(min(255, max(0, c)) + 0.5) for c in (r, g, b)]
groups = [
    (16, 128, 60, 128), (100, 128, 150, 128), (200, 128, 235, 128), (126, 128, 127, 128),  # grey ramp
    (150, 110, 160, 150), (120, 105, 118, 145), (90, 115, 96, 138), (170, 100, 175, 155),  # skin, cardboard
    (110, 120, 130, 100), (140, 118, 128, 96), (70, 160, 80, 110), (60, 170, 66, 120),     # glass green, blue
    (235, 240, 235, 240), (16, 16, 16, 16), (81, 90, 145, 54), (41, 240, 210, 146),        # extremes (clamp)
]
yuyv, rgb = bytearray(), bytearray()
for y0, u, y1, v in groups:
    yuyv += bytes([y0, u, y1, v])
    rgb += bytes(bt601_rgb(y0, u, v) + bt601_rgb(y1, u, v))
open("patches_8x4.yuyv", "wb").write(yuyv)
open("patches_8x4.rgb", "wb").write(rgb)

# blocks_64x64.mjpg
BLOCKS = [
    [(128, 128, 128), (200, 60, 40), (60, 160, 70), (50, 80, 190)],
    [(230, 200, 160), (150, 110, 60), (20, 20, 20), (240, 240, 240)],
    [(180, 40, 150), (40, 180, 180), (220, 220, 60), (100, 100, 140)],
]
try:
    from PIL import Image
except ImportError:
    print("blocks_64x64.mjpg not regenerated: needs Pillow (pip install -r tools/requirements.txt)")
else:
    import io
    image = Image.new("RGB", (64, 64))
    for row, colours in enumerate(BLOCKS):
        for col, colour in enumerate(colours):
            image.paste(colour, (col * 16, row * 16, col * 16 + 16, row * 16 + 16))
    for x in range(64):
        image.paste((x * 4, 128, 252 - x * 4), (x, 48, x + 1, 64))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, subsampling=1, optimize=False)  # 1 = 4:2:2
    jpeg = out.getvalue()
    # Re-emit the segments as a UVC camera does: AVI1 APP0 instead of JFIF, no DHT.
    frame = bytearray(b"\xff\xd8")
    frame += b"\xff\xe0\x00\x10AVI1\x00\x00" + bytes(8)
    i = 2
    while True:
        marker = jpeg[i + 1]
        length = int.from_bytes(jpeg[i + 2:i + 4], "big")
        if marker == 0xDA:  # SOS: the rest is scan data up to EOI
            frame += jpeg[i:]
            break
        if marker not in (0xE0, 0xC4):
            frame += jpeg[i:i + 2 + length]
        i += 2 + length
    open("blocks_64x64.mjpg", "wb").write(frame)

# camera_ring.dqbuf: 'scenario <name>'; 'request <ns>' = capture() called (CLOCK_MONOTONIC);
# 'drain' = one drain of the ring (DQBUF until EAGAIN), after which the adapter re-queues and
# polls; 'buffer <index> <sequence> <timestamp ns | -> [error]', '-' = not a monotonic stamp.
frame = 33_366_667  # 1/29.97 s
ring = ["# V4L2 DQBUF records; see generate.py"]
# idle: the last capture at 100 s; the ring refilled within 0.1 s and then stalled (no buffer
# queued); the next request comes minutes later. The first drain is all stale; the first frame
# after re-queueing starts one sensor frame later.
request = 287 * ns + 512_000_000
ring += ["scenario idle", f"request {request}", "drain"]
ring += [f"buffer {i} {4 + i} {100 * ns + (i + 1) * frame}" for i in range(3)]
ring += ["drain", f"buffer 0 7 {request + 9_870_000}"]
# busy: streaming and the worker was late to the request: the first drain holds a stale frame
# and one that started 0.2 ms after the request.
request = 50 * ns
ring += ["scenario busy", f"request {request}", "drain",
         f"buffer 1 20 {request - frame + 200_000}", f"buffer 2 21 {request + 200_000}"]
# corrupt: two fresh frames, the newer flagged V4L2_BUF_FLAG_ERROR (USB packet loss).
request = 60 * ns
ring += ["scenario corrupt", f"request {request}", "drain",
         f"buffer 0 30 {request + 1_000_000}", f"buffer 1 31 {request + 1_000_000 + frame} error"]
# nostamp: a driver without monotonic timestamps: the first drain cannot be trusted, the next can.
ring += ["scenario nostamp", f"request {70 * ns}", "drain", "buffer 0 40 -", "buffer 1 41 -", "drain", "buffer 2 42 -"]
open("camera_ring.dqbuf", "w").write("\n".join(ring) + "\n")
