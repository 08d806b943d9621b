"""MediaPipe Holistic (mediapipe 0.10.21 legacy solutions) -> the 44-joint MA-52 skeleton.

Runs offline: the pose, hand and face models ship inside the mediapipe wheel. Holistic tracks a single
person: up to ``max_persons`` people are followed with one Holistic graph each ("Several people" below).
Mapping, with per-joint sources (``pose.types``):

* Halpe 0-16 <- BlazePose 0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28;
  big toes <- 31, 32; heels <- 29, 30 (score = BlazePose visibility);
* derived (score halved): neck = mid-shoulders, hip centre = mid-hips, head top = eye centre
  extended away from the mouth by ``HEAD_TOP_FACTOR`` eye-mouth distances, small toes = 3/4 of the
  way from the heel to the foot index;
* face (dlib 28, 33, 36, 45, 51, 57) <- FaceMesh 197, 2, 33, 263, 0, 17; when the face mesh is not
  found (masked faces): fallbacks from the pose (eye centre, nose, eye outer corners, mouth centre);
* hands (person's left -> Halpe 94-114): wrist and five fingertips from the hand models; when a hand
  model misses, fallbacks from BlazePose's wrist, thumb, index and pinky (middle and ring tips are
  interpolated between index and pinky).
* hands are given to the side whose BlazePose wrist is nearest to the hand model's wrist, not by the
  hand model's own left/right, which swaps now and then: with two hands the pairing of least total
  distance wins, with one the nearer wrist, but only by a clear margin (``HAND_SWAP_MARGIN`` shoulder
  widths; with clasped hands both wrists are in one place and the hand model's own side stands). A hand whose wrist is more than ``HAND_ATTACH`` shoulder
  widths from its BlazePose wrist is not used (the fallback stands in): a hand's points stay attached
  to its arm. A reassigned hand's confidences are multiplied by ``SWAPPED_SCORE``.

A frame with no person gives no detection (NaN coordinates, zero confidence downstream).

Several people (``max_persons``): Holistic tracks one person, so each person gets a Holistic graph of
their own, which sees the frame with everyone else greyed out (so it stays on its person). New people
are looked for every ``DISCOVER_S`` seconds (and on every frame while nobody is tracked) by MediaPipe's
single-image pose model on the frame with everyone already tracked greyed out. A person whose graph
finds nobody for ``LOST_S`` seconds is dropped; one found again within ``REID_S`` seconds near where a
dropped person was (centre within half their size, size within a factor of 2) takes that person's
id back. With one person in the picture this is exactly the single-graph path (no grey-out), plus
the look for others every second.

Only an upright skeleton is a person (``pose.tracking.upright``: the trunk within
``pose.tracking.MAX_TILT_DEG`` of upright): one the single-image model finds lying or upside down is
greyed out and the look goes on; a new person's graph also sees those greyed out on its first frame,
and a person gets their id when their graph first finds them upright (a graph whose first find is not
upright is dropped at once). A later frame in which a followed person's skeleton is not upright counts
as one where they were not found (README "Who is a person").
"""
from __future__ import annotations

import numpy as np

from common.frames import DEFAULT_INTERVAL_S, TIME_EPS, nominal_interval
from common.quiet import native_output_silenced
from definitions.layout import HAND_POINTS, ma52_layout

from .tracking import REID_S, reidentify, upright
from .types import DERIVED, DETECTED, FALLBACK, Detection, keypoint_box

MAX_SIDE = 960  # frames are downscaled to this longest side for the pose model (--max-side)
MAX_PERSONS = 2  # people tracked at once (--max-persons)
HEAD_TOP_FACTOR = 1.8
FALLBACK_SCORE = 0.5  # multiplier on the pose visibility for fallback joints
BODY = [0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]  # -> layout joints 0..16
FACE = {"nose_bridge": 197, "nose_bottom": 2, "right_eye_outer_corner": 33,
        "left_eye_outer_corner": 263, "upper_lip_top": 0, "lower_lip_bottom": 17}
HAND21 = (0, 4, 8, 12, 16, 20)  # MediaPipe's hand landmarks of the layout's HAND_POINTS
HAND_ATTACH = 0.6  # shoulder widths between the hand model's wrist and BlazePose's wrist, at most
HAND_SWAP_MARGIN = 0.25  # shoulder widths by which the other side must be nearer to swap a hand
SWAPPED_SCORE = 0.8
POSE_WRIST = {"left": 15, "right": 16}
DISCOVER_S = 1.0
LOST_S = 1.0
GREY_MARGIN = 0.15  # of the box size, on each side
MIN_VISIBILITY = 0.5
MAX_REJECTED = 2  # skeletons that are no person (not upright) looked past per look for people
MEDIAPIPE_STEP_US = 33333  # what a legacy solution's ``process`` adds to its clock per frame (``_set_graph_clock``)


class _Person:
    """One tracked person: their Holistic graph and where they were last seen (processed-image px)."""

    def __init__(self, graph, box: np.ndarray, time: float):
        self.id: int | None = None  # given when their graph first finds an upright person (``_follow``)
        self.graph, self.box, self.seen = graph, box, time
        self.stamp = -1  # the graph's last timestamp (microseconds)
        self.fresh = True  # not run yet: its first run logs natively


class MediaPipeBackend:
    """Holistic in video mode, model complexity 1 (the only pose model in the wheel)."""

    name = "mediapipe"

    def __init__(self, min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 max_side: int | None = MAX_SIDE, max_persons: int = MAX_PERSONS):
        if max_persons < 1:
            raise ValueError(f"max_persons must be at least 1; got {max_persons}")
        self.settings = {
            "solution": "holistic", "mediapipe": _version(), "model_complexity": 1,
            "refine_face_landmarks": True, "smooth_landmarks": True, "static_image_mode": False,
            "min_detection_confidence": min_detection_confidence,
            "min_tracking_confidence": min_tracking_confidence, "max_side": max_side,
            "head_top_factor": HEAD_TOP_FACTOR,
        }
        self.max_side = max_side
        self.max_persons = max_persons
        self.layout = ma52_layout()
        self._idx = {n: i for i, n in enumerate(self.layout.names)}
        self.settings.update(hand_attach=HAND_ATTACH, max_persons=max_persons, discover_s=DISCOVER_S,
                             lost_s=LOST_S, reid_s=REID_S)
        self.counts = {"hands_swapped": 0, "hands_detached": 0, "not_upright": 0}  # repairs so far (for benchmarks)
        self._people: list[_Person] = []
        self._gone: list[tuple[int, np.ndarray, float]] = []  # (id, box, when lost)
        self._rejected: list[np.ndarray] = []  # boxes of the skeletons the last look found to be no person
        self._detector = None
        self._next_id = 0
        self._time = 0.0
        self._dt = DEFAULT_INTERVAL_S
        self._last_look = -np.inf

    def _graph(self):
        import mediapipe as mp

        with native_output_silenced():
            return mp.solutions.holistic.Holistic(
                static_image_mode=False, model_complexity=1, smooth_landmarks=True, refine_face_landmarks=True,
                min_detection_confidence=self.settings["min_detection_confidence"],
                min_tracking_confidence=self.settings["min_tracking_confidence"],
            )

    def _finder(self):
        if self._detector is None:
            import mediapipe as mp

            with native_output_silenced():
                self._detector = mp.solutions.pose.Pose(
                    static_image_mode=True, model_complexity=1,
                    min_detection_confidence=self.settings["min_detection_confidence"])
                self._detector.process(np.zeros((64, 64, 3), np.uint8))  # its first run logs too
        return self._detector

    def start(self, fps: float) -> None:
        """Forget the tracking state and set the frame rate (call at the start of every video)."""
        self.reset()
        self._dt = nominal_interval(fps)

    def reset(self) -> None:
        """Forget the tracking state (call between videos)."""
        for p in self._people:
            p.graph.close()
        self._people, self._gone, self._next_id, self._time, self._last_look = [], [], 0, 0.0, -np.inf

    def close(self) -> None:
        self.reset()
        if self._detector is not None:
            self._detector.close()
            self._detector = None

    def cut(self) -> None:
        """A camera cut: every graph starts again; people found after it are re-identified by place and
        size (``REID_S``)."""
        for p in list(self._people):
            self._drop(p, self._time)

    @property
    def persons_seen(self) -> int:
        """How many different people (ids) were found since the last reset."""
        return self._next_id

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def process(self, image: np.ndarray, width: int, height: int, time: float | None = None) -> list[Detection]:
        """RGB frame (any size) -> detections in pixels of a ``width`` x ``height`` frame, each with the
        person's id as ``track_id``. ``time``: the frame's time in seconds (else frames are taken to come
        ``1 / fps`` apart, ``start``; so is a frame whose time is not after the frame before's: containers
        that give two frames one timestamp). MediaPipe's landmark filters see these times, so they smooth
        alike at any frame rate and when frames are left out (its own default takes every call as 1/30 s)."""
        image = np.ascontiguousarray(image)
        if time is not None and time > self._time - self._dt + TIME_EPS:
            self._time = time  # else a timestamp that does not increase: the clock goes on by 1 / fps
        now, self._time = self._time, self._time + self._dt
        dets = []
        for person in list(self._people):
            det = self._follow(person, image, width, height, now)
            if det is not None:
                dets.append(det)
        if len(self._people) < self.max_persons and (not self._people or now - self._last_look >= DISCOVER_S - 1e-9):
            self._last_look = now
            for person in self._look_for_people(image, now):
                det = self._follow(person, image, width, height, now)
                if det is not None:
                    dets.append(det)
        return dets

    def _follow(self, person: _Person, image: np.ndarray, width: int, height: int, now: float) -> Detection | None:
        """The person in this frame (their graph sees everyone else greyed out, and on its first frame the
        skeletons just found to be no person too). A skeleton that is not upright is not them: on the
        graph's first frame the person is dropped at once (it never was one), later the frame counts as
        one where they were not found."""
        others = [p.box for p in self._people if p is not person] + (self._rejected if person.fresh else [])
        # the graph's clock: the frame's time plus one step (at 30 fps, the stamps MediaPipe would give itself)
        stamp = max(person.stamp + 1, int(round(now * 1e6)) + MEDIAPIPE_STEP_US)
        _set_graph_clock(person.graph, stamp)
        person.stamp = stamp
        view = _grey_out(image, others) if others else image
        first = person.fresh
        if first:
            person.fresh = False
            with native_output_silenced():
                res = person.graph.process(view)
        else:
            res = person.graph.process(view)
        found = res.pose_landmarks is not None
        if found and not _upright(res.pose_landmarks, image.shape):
            self.counts["not_upright"] += 1
            found = False
            if first:
                self._drop(person, now, keep=False)
                return None
        if not found:
            if now - person.seen >= LOST_S - 1e-9:
                self._drop(person, now)
            return None
        if person.id is None:
            person.id = self._reidentify(person.box, now)
        person.box, person.seen = _box(res.pose_landmarks, image.shape), now
        det = self.convert(res, width, height)
        det.track_id = person.id
        return det

    def _drop(self, person: _Person, now: float, keep: bool = True) -> None:
        """Stop following ``person``; ``keep``: remember where they were (``REID_S``), if they ever had an id."""
        person.graph.close()
        self._people.remove(person)
        if keep and person.id is not None:
            self._gone.append((person.id, person.box, now))

    def _look_for_people(self, image: np.ndarray, now: float) -> list[_Person]:
        """New people in the frame (everyone tracked greyed out), up to ``max_persons`` in all. A skeleton
        that is not upright (``pose.tracking.upright``) is no person: it is greyed out too, and the look
        goes on."""
        found, rejected = [], []
        self._rejected = rejected  # greyed out for the new people's graphs too (``_follow``)
        for _ in range(self.max_persons + MAX_REJECTED):
            if len(self._people) >= self.max_persons:
                break
            boxes = [p.box for p in self._people] + rejected
            view = _grey_out(image, boxes) if boxes else image
            res = self._finder().process(view)
            if res.pose_landmarks is None:
                break
            box = _box(res.pose_landmarks, image.shape)
            if box is None or any(_iou(box, b) > 0.3 for b in boxes):
                break
            if not _upright(res.pose_landmarks, image.shape):
                self.counts["not_upright"] += 1
                rejected.append(box)
                continue
            person = _Person(self._graph(), box, now)
            self._people.append(person)
            found.append(person)
        return found

    def _reidentify(self, box: np.ndarray, now: float) -> int:
        """The id of a person lost lately near ``box`` (``pose.tracking.reidentify``: the nearest), else a
        new id."""
        self._gone = [g for g in self._gone if now - g[2] <= REID_S]
        found = reidentify(box, [(pid, old, now - when) for pid, old, when in self._gone], choose="nearest")
        if found is not None:
            self._gone = [g for g in self._gone if g[0] != found]
            return found
        self._next_id += 1
        return self._next_id - 1

    def convert(self, res, width: int, height: int) -> Detection:
        scale = np.array([width, height], np.float64)
        n = self.layout.num_joints
        kp = np.full((n, 2), np.nan)
        sc = np.zeros(n)
        src = np.zeros(n, np.uint8)
        pose = _points(res.pose_landmarks, scale)
        vis = np.array([lm.visibility for lm in res.pose_landmarks.landmark])
        ix = self._idx

        def put(name, xy, score, source):
            j = ix[name]
            kp[j], sc[j], src[j] = xy, score, source

        for j, b in enumerate(BODY):
            kp[j], sc[j], src[j] = pose[b], vis[b], DETECTED
        for side, toe, heel in (("left", 31, 29), ("right", 32, 30)):
            put(f"{side}_big_toe", pose[toe], vis[toe], DETECTED)
            put(f"{side}_heel", pose[heel], vis[heel], DETECTED)
            put(f"{side}_small_toe", 0.25 * pose[heel] + 0.75 * pose[toe], 0.5 * min(vis[heel], vis[toe]), DERIVED)
        put("neck", (pose[11] + pose[12]) / 2, 0.5 * min(vis[11], vis[12]), DERIVED)
        put("hip_center", (pose[23] + pose[24]) / 2, 0.5 * min(vis[23], vis[24]), DERIVED)
        eyes = (pose[2] + pose[5]) / 2
        mouth = (pose[9] + pose[10]) / 2
        put("head_top", eyes + HEAD_TOP_FACTOR * (eyes - mouth), 0.5 * min(vis[2], vis[5], vis[9], vis[10]), DERIVED)

        if res.face_landmarks is not None:
            face = _points(res.face_landmarks, scale)
            for name, fi in FACE.items():
                put(name, face[fi], 1.0, DETECTED)
        else:
            f = FALLBACK_SCORE
            put("nose_bridge", eyes, f * min(vis[2], vis[5]), FALLBACK)
            put("nose_bottom", pose[0], f * vis[0], FALLBACK)
            put("right_eye_outer_corner", pose[6], f * vis[6], FALLBACK)
            put("left_eye_outer_corner", pose[3], f * vis[3], FALLBACK)
            put("upper_lip_top", mouth, f * min(vis[9], vis[10]), FALLBACK)
            put("lower_lip_bottom", mouth, f * min(vis[9], vis[10]) * 0.5, FALLBACK)

        hands, swapped = self.assign_hands(res.left_hand_landmarks, res.right_hand_landmarks, pose, scale)
        for side, (w, thumb, index, pinky) in (("left", (15, 21, 19, 17)), ("right", (16, 22, 20, 18))):
            hand = hands[side]
            if hand is not None:
                for tip, hi in zip(HAND_POINTS, HAND21):
                    put(f"{side}_hand_{tip}", hand[hi], SWAPPED_SCORE if swapped else 1.0, DETECTED)
            else:
                s = FALLBACK_SCORE * min(vis[w], vis[index], vis[pinky])
                guess = {"wrist": pose[w], "thumb_tip": pose[thumb], "index_tip": pose[index],
                         "middle_tip": (2 * pose[index] + pose[pinky]) / 3,
                         "ring_tip": (pose[index] + 2 * pose[pinky]) / 3, "pinky_tip": pose[pinky]}
                for tip in HAND_POINTS:
                    put(f"{side}_hand_{tip}", guess[tip], s, FALLBACK)
        return Detection(kp.astype(np.float32), np.clip(sc, 0, 1).astype(np.float32), src)

    def assign_hands(self, left_lms, right_lms, pose: np.ndarray, scale: np.ndarray):
        """The hand models' points [21, 2] per side (None where no hand is used), and whether the hand
        model's left/right was swapped (see the module's text)."""
        found = {side: _points(lms, scale) for side, lms in (("left", left_lms), ("right", right_lms))
                 if lms is not None}
        out = {"left": None, "right": None}
        if not found:
            return out, False
        wrists = {side: pose[i] for side, i in POSE_WRIST.items()}
        dist = {(h, s): float(np.linalg.norm(found[h][0] - wrists[s])) for h in found for s in wrists}
        shoulders = max(float(np.linalg.norm(pose[11] - pose[12])), 1.0)
        margin = HAND_SWAP_MARGIN * shoulders
        if len(found) == 2:
            straight = dist["left", "left"] + dist["right", "right"]
            crossed = dist["left", "right"] + dist["right", "left"]
            swap = crossed < straight - margin
            pairs = [("left", "right"), ("right", "left")] if swap else [("left", "left"), ("right", "right")]
        else:
            (h,) = found
            other = "right" if h == "left" else "left"
            pairs = [(h, other if dist[h, other] < dist[h, h] - margin else h)]
        limit = HAND_ATTACH * shoulders
        swapped = False
        for h, s in pairs:
            if dist[h, s] > limit:
                self.counts["hands_detached"] += 1
                continue
            out[s] = found[h]
            if h != s:
                swapped = True
                self.counts["hands_swapped"] += 1
        return out, swapped


def _set_graph_clock(graph, stamp_us: int) -> None:
    """Make a legacy-solution graph (``mp.solutions``) stamp the next frame it processes ``stamp_us``
    (microseconds); the only place that touches MediaPipe's private state.

    Why: ``SolutionBase.process`` takes no time; it adds ``MEDIAPIPE_STEP_US`` (1/30 s) to a private counter,
    ``_simulated_timestamp``, and stamps the frame with that, so its landmark filters (which smooth by time)
    would take every frame as 1/30 s after the one before, at any frame rate and when frames are left out.
    mediapipe 0.10.21 (``mediapipe/python/solution_base.py``) has no public way to give the time in this API:
    the Tasks API's ``HolisticLandmarker.detect_for_video`` takes one, but needs a ``.task`` model bundle that
    the wheel does not ship (and is another graph). So the counter is set to the wanted stamp less the step
    that ``process`` adds. Check this function when mediapipe is upgraded (``requirements.txt`` pins it)."""
    graph._simulated_timestamp = stamp_us - MEDIAPIPE_STEP_US


def _upright(landmarks, shape) -> bool:
    """Whether the trunk of BlazePose ``landmarks`` (shoulders 11, 12; hips 23, 24) in an image of ``shape``
    is upright (``pose.tracking.upright``)."""
    pts = _points(landmarks, np.array([shape[1], shape[0]], np.float64))
    return upright(pts[[11, 12]], pts[[23, 24]])


def _box(landmarks, shape) -> np.ndarray | None:
    """[x0, y0, x1, y1] in pixels of an image of ``shape`` around the landmarks seen with visibility
    >= MIN_VISIBILITY (``pose.types.keypoint_box``; None when too few)."""
    visibility = np.array([lm.visibility for lm in landmarks.landmark], np.float64)
    return keypoint_box(_points(landmarks, np.array([shape[1], shape[0]], np.float64)), visibility, MIN_VISIBILITY)


def _iou(a: np.ndarray, b: np.ndarray | None) -> float:
    if b is None:
        return 0.0
    lo, hi = np.maximum(a[:2], b[:2]), np.minimum(a[2:], b[2:])
    inter = float(np.prod(np.clip(hi - lo, 0, None)))
    union = float(np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter)
    return inter / union if union > 0 else 0.0


def _grey_out(image: np.ndarray, boxes: list) -> np.ndarray:
    """A copy of ``image`` with each box (grown by GREY_MARGIN on each side) filled with mid-grey."""
    out = image.copy()
    h, w = image.shape[:2]
    for b in boxes:
        if b is None:
            continue
        m = GREY_MARGIN * (b[2:] - b[:2])
        x0, y0 = np.floor(np.maximum(b[:2] - m, 0)).astype(int)
        x1, y1 = np.ceil(np.minimum(b[2:] + m, (w, h))).astype(int)
        out[y0:y1, x0:x1] = 128
    return out


def _points(landmarks, scale: np.ndarray) -> np.ndarray:
    return np.array([(lm.x, lm.y) for lm in landmarks.landmark], np.float64) * scale


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("mediapipe")
    except Exception:
        return "unknown"
