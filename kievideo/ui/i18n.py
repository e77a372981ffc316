"""Translations: Qt's own (standard buttons and dialogs) and kievideo's, by locale.

kievideo's strings go through ``tr()`` (``QObject.tr`` in widgets, ``QCoreApplication.translate``
with the contexts "kievideo" and "rules" in helpers), so ``pyside6-lupdate`` extracts them:

    .venv/bin/pyside6-lupdate kievideo/ui kievideo/app.py -ts resources/translations/kievideo_zh_CN.ts
    .venv/bin/pyside6-lrelease resources/translations/kievideo_zh_CN.ts

The compiled ``kievideo_<locale>.qm`` files live in resources/translations and ship in the wheel and
the bundle. :func:`install` picks the one matching the system locale (or ``--lang``); a locale
without a file simply stays English.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from kievideo.ui.icons import resources_dir

#: what the .qm files are called: kievideo_zh_CN.qm, kievideo_de.qm, ...
CATALOG = "kievideo"


def translations_dir() -> Path:
    return resources_dir() / "translations"


def locale_for(lang: str | None) -> QLocale:
    """``--lang zh_CN`` (also zh-CN), or the system locale when not given."""
    if lang:
        return QLocale(lang.replace("-", "_"))
    return QLocale.system()


def install(app: QCoreApplication, lang: str | None = None) -> list[QTranslator]:
    """Load and install the translators for ``lang`` (or the system locale); returns them.

    English needs none. Qt's own catalogue (qtbase: Cancel, Close, the file dialog...) comes from
    the Qt installation when it has one for the locale.
    """
    locale = locale_for(lang)
    if lang:
        QLocale.setDefault(locale)  # number formatting and Qt's dialogs follow --lang too
    installed: list[QTranslator] = []
    if locale.language() in (QLocale.Language.English, QLocale.Language.C):
        return installed
    candidates = (
        ("qtbase", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)),
        (CATALOG, str(translations_dir())),
    )
    for name, directory in candidates:
        translator = QTranslator(app)
        if translator.load(locale, name, "_", directory):
            app.installTranslator(translator)
            installed.append(translator)
        else:
            translator.deleteLater()
    return installed


def uninstall(app: QCoreApplication, translators: list[QTranslator]) -> None:
    for translator in translators:
        app.removeTranslator(translator)
        translator.deleteLater()
