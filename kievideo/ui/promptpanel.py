"""The prompt panel: provider/profile, model, mode, aspect ratio, duration, quality, seed,
watermark, translation, the prompt with a character counter, and the Generate button.

Which choices exist and which combinations are refused come only from ``core.rules`` (shared
with the CLI): a refused choice stays visible but DISABLED, with the reason as its tooltip and in
a small hint line. Every rules message is plain English and goes through
``QCoreApplication.translate("rules", ...)`` so a translation can replace it.

The panel builds a JobSpec; it never submits. The main window owns the submit (and its guard).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, Signal
from PySide6.QtGui import QIntValidator, QKeyEvent, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kievideo.api.models import ProviderKind
from kievideo.core import rules
from kievideo.core.jobs import JobSpec, Mode
from kievideo.ui import icons
from kievideo.ui.combo import ReasonCombo
from kievideo.ui.style import error_color, mode_label, provider_label, tr


def tr_rules(msg: str) -> str:
    """Translate a core.rules message (plain English) in the "rules" context."""
    return QCoreApplication.translate("rules", msg)


@dataclass(frozen=True, slots=True)
class ProviderChoice:
    """One entry of the provider combo: a provider family on a profile (account + base URL)."""

    profile: str  # "kie" or a unified profile's name
    kind: ProviderKind
    label: str

    @property
    def key(self) -> str:
        return f"{self.profile}/{self.kind.value}"


def default_choices(unified_profiles: list[str] | tuple[str, ...] = ()) -> list[ProviderChoice]:
    out = [
        ProviderChoice("kie", ProviderKind.VEO, provider_label(ProviderKind.VEO)),
        ProviderChoice("kie", ProviderKind.RUNWAY, provider_label(ProviderKind.RUNWAY)),
        ProviderChoice("kie", ProviderKind.ALEPH, provider_label(ProviderKind.ALEPH)),
    ]
    for name in unified_profiles:
        out.append(
            ProviderChoice(
                name,
                ProviderKind.UNIFIED,
                tr("%1 (unified API)").replace("%1", name),
            )
        )
    return out


class PromptEdit(QPlainTextEdit):
    """Plain-text prompt; Ctrl+Enter submits (also without an active window), Tab moves focus."""

    submitRequested = Signal()

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if (
            e.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
            and e.modifiers() & Qt.KeyboardModifier.ControlModifier
        ):
            self.submitRequested.emit()
            e.accept()
            return
        super().keyPressEvent(e)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTabChangesFocus(True)
        self.setPlaceholderText(self.tr("Describe the video: subject, action, camera, light, sound…"))
        self.setAccessibleName(self.tr("Prompt"))


class PromptPanel(QWidget):
    """Settings + prompt; emits ``generateRequested`` (button or Ctrl+Enter)."""

    generateRequested = Signal()
    #: anything that affects the spec changed (the main window refreshes cost/problems)
    specChanged = Signal()
    #: the mode changed (the image panel relabels "First"/"Last")
    modeChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("promptPanel")
        self._choices: list[ProviderChoice] = []
        self._image_count = 0
        self._busy = False

        self.provider = ReasonCombo(self)
        self.provider.setObjectName("providerCombo")
        self.model_combo = ReasonCombo(self)
        self.model_combo.setObjectName("modelCombo")
        self.mode = ReasonCombo(self)
        self.mode.setObjectName("modeCombo")
        self.aspect = ReasonCombo(self)
        self.aspect.setObjectName("aspectCombo")
        self.duration = ReasonCombo(self)
        self.duration.setObjectName("durationCombo")
        self.quality = ReasonCombo(self)
        self.quality.setObjectName("qualityCombo")
        self.video_url = QLineEdit(self)
        self.video_url.setObjectName("videoUrl")
        self.video_url.setPlaceholderText(self.tr("https://… link to the video to transform"))
        self.seed = QLineEdit(self)
        self.seed.setObjectName("seedEdit")
        self.seed.setValidator(QIntValidator(0, 2_000_000_000, self))
        self.seed.setPlaceholderText(self.tr("random"))
        self.seed.setMaximumWidth(110)
        self.watermark = QLineEdit(self)
        self.watermark.setObjectName("watermarkEdit")
        self.watermark.setPlaceholderText(self.tr("none"))
        self.translate = QCheckBox(self.tr("Translate prompt to English"), self)
        self.translate.setObjectName("translateCheck")
        self.translate.setChecked(True)
        self.upsample = QCheckBox(self.tr("Upscale (enable_upsample)"), self)
        self.upsample.setObjectName("upsampleCheck")

        self.prompt = PromptEdit(self)
        self.prompt.setObjectName("promptEdit")
        self.counter = QLabel(self)
        self.counter.setObjectName("charCounter")
        self.counter.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.hint = QLabel(self)
        self.hint.setObjectName("ruleHint")
        self.hint.setWordWrap(True)
        self.hint.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._tone_hint()
        self.problem = QLabel(self)
        self.problem.setObjectName("problemLabel")
        self.problem.setWordWrap(True)
        self.problem.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        pal = self.problem.palette()
        pal.setColor(QPalette.ColorRole.WindowText, error_color())
        self.problem.setPalette(pal)
        self.problem.hide()
        self.generate_btn = QPushButton(icons.icon("generate"), self.tr("Generate"), self)
        self.generate_btn.setObjectName("generateButton")
        self.generate_btn.setDefault(True)
        self.generate_btn.setMinimumHeight(34)
        self.generate_btn.setToolTip(self.tr("Generate (Ctrl+Enter)"))
        self.generate_btn.clicked.connect(self._request)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.addRow(self.tr("Provider"), self.provider)
        form.addRow(self.tr("Model"), self.model_combo)
        form.addRow(self.tr("Mode"), self.mode)
        self._video_row_label = QLabel(self.tr("Source video"), self)
        form.addRow(self._video_row_label, self.video_url)
        row = QHBoxLayout()
        row.addWidget(self.aspect)
        self._duration_label = QLabel(self.tr("Length"), self)
        row.addWidget(self._duration_label)
        row.addWidget(self.duration)
        self._quality_label = QLabel(self.tr("Quality"), self)
        row.addWidget(self._quality_label)
        row.addWidget(self.quality)
        row.addStretch(1)
        form.addRow(self.tr("Aspect ratio"), row)
        row2 = QHBoxLayout()
        self._seed_label = QLabel(self.tr("Seed"), self)
        row2.addWidget(self.seed)
        row2.addWidget(QLabel(self.tr("Watermark"), self))
        row2.addWidget(self.watermark, 1)
        form.addRow(self._seed_label, row2)
        row3 = QHBoxLayout()
        row3.addWidget(self.translate)
        row3.addWidget(self.upsample)
        row3.addStretch(1)
        form.addRow("", row3)

        bottom = QHBoxLayout()
        bottom.addWidget(self.counter, 1)
        bottom.addWidget(self.generate_btn)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(6, 6, 6, 6)
        lay.addLayout(form)
        lay.addWidget(self.prompt, 1)
        lay.addWidget(self.hint)
        lay.addWidget(self.problem)
        lay.addLayout(bottom)

        self.provider.currentIndexChanged.connect(self._on_provider)
        self.model_combo.currentIndexChanged.connect(self._on_model)
        self.mode.currentIndexChanged.connect(self._on_mode)
        for combo in (self.aspect, self.duration, self.quality):
            combo.currentIndexChanged.connect(self._refresh)
        for edit in (self.video_url, self.seed, self.watermark):
            edit.textChanged.connect(self._refresh)
        for box in (self.translate, self.upsample):
            box.toggled.connect(self._refresh)
        self.prompt.textChanged.connect(self._refresh)
        self.prompt.submitRequested.connect(self._request)

        # Ctrl+Enter (and Ctrl+Return) submit from anywhere in the window.
        for seq in ("Ctrl+Return", "Ctrl+Enter"):
            sc = QShortcut(QKeySequence(seq), self, context=Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(self._request)

        self.set_choices(default_choices())

    # --- public API ---------------------------------------------------------------------------

    def set_choices(self, choices: list[ProviderChoice]) -> None:
        keep = self.provider.value()
        self._choices = list(choices)
        self.provider.set_choices([(c.label, c.key, None) for c in choices], keep=keep)
        self._on_provider()

    def current_choice(self) -> ProviderChoice:
        key = self.provider.value()
        for c in self._choices:
            if c.key == key:
                return c
        return self._choices[0]

    def select_provider(self, kind: ProviderKind, profile: str = "kie") -> bool:
        key = f"{profile}/{kind.value}"
        row = self.provider.findData(key)
        if row < 0:
            return False
        self.provider.setCurrentIndex(row)
        return True

    def set_mode(self, mode: Mode) -> bool:
        """Switch to ``mode`` when the current model offers it; False otherwise."""
        row = self.mode.findData(mode.value)
        if row < 0 or not self.mode.is_enabled_row(row):
            return False
        self.mode.setCurrentIndex(row)
        return True

    def set_image_count(self, n: int) -> None:
        self._image_count = n
        self._refresh()

    def set_busy(self, busy: bool) -> None:
        """While a submit is in progress the button is disabled (no double submit)."""
        self._busy = busy
        self._refresh_button()

    def spec(self, images: tuple[str, ...] = ()) -> JobSpec:
        """The JobSpec the controls describe (not validated)."""
        choice = self.current_choice()
        mode = Mode(self.mode.value() or Mode.TEXT.value)
        seed_text = self.seed.text().strip()
        return JobSpec(
            provider=choice.kind,
            model=str(self.model_combo.value() or ""),
            prompt=self.prompt.toPlainText().strip(),
            mode=mode,
            profile=choice.profile,
            images=images if mode is not Mode.TEXT else (),
            video_url=(self.video_url.text().strip() or None) if mode is Mode.VIDEO else None,
            aspect_ratio=self.aspect.value() if self.aspect.isEnabled() else None,
            duration=self.duration.value() if self._has_duration() else None,
            quality=self.quality.value() if self._has_quality() else None,
            seed=int(seed_text) if seed_text and self.seed.isEnabled() else None,
            watermark=self.watermark.text().strip(),
            translate=self.translate.isChecked() if self.translate.isEnabled() else True,
            upsample=self.upsample.isChecked() and self.upsample.isEnabled(),
        )

    def apply_spec(self, spec: JobSpec) -> None:
        """Fill the controls from a task's spec ("Reuse settings")."""
        self.select_provider(spec.provider, spec.profile) or self.select_provider(spec.provider)
        self.model_combo.select(spec.model)
        self._on_model()
        self.mode.select(spec.mode.value)
        self._on_mode()
        self.aspect.select(spec.aspect_ratio)
        self.duration.select(spec.duration)
        self.quality.select(spec.quality)
        self.video_url.setText(spec.video_url or "")
        self.seed.setText("" if spec.seed is None else str(spec.seed))
        self.watermark.setText(spec.watermark)
        self.translate.setChecked(spec.translate)
        self.upsample.setChecked(spec.upsample)
        self.prompt.setPlainText(spec.prompt)
        self._refresh()

    def show_problems(self, messages: list[str]) -> None:
        self.problem.setText("\n".join(messages))
        self.problem.setVisible(bool(messages))

    def set_cost_text(self, text: str) -> None:
        self.generate_btn.setText(text)

    # --- internals ----------------------------------------------------------------------------

    def _tone_hint(self) -> None:
        """The hint line in a quieter tone of the text colour. Not a disabled label: the disabled
        grey of light schemes is too faint for what the line says (why a choice is refused)."""
        pal = self.hint.palette()
        col = self.palette().color(QPalette.ColorRole.WindowText)
        col.setAlphaF(0.72)
        pal.setColor(QPalette.ColorRole.WindowText, col)
        self.hint.setPalette(pal)

    def changeEvent(self, e: QEvent) -> None:
        super().changeEvent(e)
        if e.type() == QEvent.Type.PaletteChange and hasattr(self, "hint"):
            self._tone_hint()  # the colour scheme changed

    def _has_duration(self) -> bool:
        c = self.current_choice()
        return bool(rules.durations_for(c.kind, str(self.model_combo.value() or "")))

    def _has_quality(self) -> bool:
        c = self.current_choice()
        return bool(rules.qualities_for(c.kind, str(self.model_combo.value() or "")))

    def _request(self) -> None:
        if self.generate_btn.isEnabled():
            self.generateRequested.emit()

    def _on_provider(self, *_: Any) -> None:
        if not self._choices:
            return
        kind = self.current_choice().kind
        keep = self.model_combo.value()
        self.model_combo.set_choices(
            [(rules.model_label(m), m, None) for m in rules.MODELS.get(kind, ())], keep=keep
        )
        durs = rules.durations_for(kind)
        self.duration.set_choices(
            [(self.tr("%1 s").replace("%1", str(d)), d, None) for d in durs], keep=self.duration.value()
        )
        quals = rules.qualities_for(kind)
        self.quality.set_choices(
            [(q, q, None) for q in quals], keep=self.quality.value() or (quals[0] if quals else None)
        )
        self.translate.setText(
            self.tr("Enhance/translate prompt")
            if kind is ProviderKind.UNIFIED
            else self.tr("Translate prompt to English")
        )
        self._on_model()

    def _on_model(self, *_: Any) -> None:
        kind = self.current_choice().kind
        model = str(self.model_combo.value() or "")
        all_modes = [Mode.TEXT, Mode.IMAGE, Mode.FRAMES, Mode.REFERENCE, Mode.VIDEO]
        offered = rules.modes_for(kind, model)
        # Modes no model of this provider offers are left out; modes another model of the same
        # provider offers stay visible but disabled with the reason (e.g. reference images on veo3).
        provider_modes = {m for name in rules.MODELS.get(kind, ()) for m in rules.modes_for(kind, name)}
        all_modes = [m for m in all_modes if m in provider_modes] or [Mode.TEXT]
        base = self.spec()
        choices = []
        for m in all_modes:
            reason = None if m in offered else rules.disabled_reason(base.with_(model=model), "mode", m.value)
            choices.append((mode_label(m), m.value, tr_rules(reason) if reason else None))
        self.mode.set_choices(choices, keep=self.mode.value())
        self._on_mode()

    def _on_mode(self, *_: Any) -> None:
        mode = Mode(self.mode.value() or Mode.TEXT.value)
        is_video = mode is Mode.VIDEO
        self.video_url.setVisible(is_video)
        self._video_row_label.setVisible(is_video)
        self.modeChanged.emit(mode)
        self._refresh()

    def _refresh(self, *_: Any) -> None:
        """Recompute what is allowed; grey out refused choices with their reasons."""
        kind = self.current_choice().kind
        spec = self.spec()
        provider_name = provider_label(kind)

        # Aspect ratio: Runway with an image takes the image's ratio (whole control disabled).
        ratios = rules.aspect_ratios_for(kind)
        if [self.aspect.itemData(i) for i in range(self.aspect.count())] != list(ratios):
            self.aspect.set_choices([(r, r, None) for r in ratios], keep=self.aspect.value() or "16:9")
        whole = rules.disabled_reason(spec, "aspect_ratio", ratios[0] if ratios else None)
        self.aspect.setEnabled(whole is None)
        self.aspect.setToolTip(tr_rules(whole) if whole else "")

        # Duration and quality: cross-disable (Runway 10 s with 1080p).
        self._duration_label.setVisible(self._has_duration())
        self.duration.setVisible(self._has_duration())
        self._quality_label.setVisible(self._has_quality())
        self.quality.setVisible(self._has_quality())
        self.duration.set_reasons(
            [
                _t(rules.disabled_reason(spec, "duration", self.duration.itemData(i)))
                for i in range(self.duration.count())
            ]
        )
        self.quality.set_reasons(
            [
                _t(rules.disabled_reason(spec, "quality", self.quality.itemData(i)))
                for i in range(self.quality.count())
            ]
        )
        self.duration._sync_tooltip()
        self.quality._sync_tooltip()

        # Seed / translation / upsample.
        seed_reason = rules.disabled_reason(spec, "seed", None)
        self.seed.setEnabled(seed_reason is None)
        self._seed_label.setEnabled(seed_reason is None)
        self.seed.setToolTip(
            tr_rules(seed_reason)
            if seed_reason
            else self.tr("Same seed, similar video. Veo takes 10000–99999; empty means random.")
        )
        tr_reason = rules.disabled_reason(spec, "translate", True)
        self.translate.setEnabled(tr_reason is None)
        self.translate.setToolTip(tr_rules(tr_reason) if tr_reason else "")
        up_reason = rules.disabled_reason(spec, "upsample", True)
        self.upsample.setVisible(kind is ProviderKind.UNIFIED)
        self.upsample.setEnabled(up_reason is None)

        # Hint line: every refused choice with its reason (tooltips on disabled items are easy to miss).
        lines: list[str] = []
        for combo in (self.mode, self.duration, self.quality):
            if not combo.isHidden():
                for label, reason in combo.reasons():
                    if reason:
                        lines.append(f"{label}: {reason}")
        if whole:
            lines.append(tr_rules(whole))
        self.hint.setText("\n".join(dict.fromkeys(lines)))
        self.hint.setVisible(bool(lines))
        self.hint.setToolTip(self.tr("%1 refuses these combinations").replace("%1", provider_name))

        # Character counter against the provider's limit, red when over.
        limit = rules.prompt_limit(kind, spec.model)
        n = len(self.prompt.toPlainText().strip())
        text = f"{n:,} / {limit:,}" if limit else f"{n:,}"
        self.counter.setText(self.tr("%1 characters").replace("%1", text))
        over = limit is not None and n > limit
        pal = self.counter.palette()
        pal.setColor(
            QPalette.ColorRole.WindowText,
            error_color() if over else self.palette().color(QPalette.ColorRole.WindowText),
        )
        self.counter.setPalette(pal)
        self.counter.setProperty("over", over)
        self.problem.hide()
        self._refresh_button()
        self.specChanged.emit()

    def _refresh_button(self) -> None:
        self.generate_btn.setEnabled(not self._busy)

    def is_over_limit(self) -> bool:
        return bool(self.counter.property("over"))


def _t(reason: str | None) -> str | None:
    return tr_rules(reason) if reason else None
