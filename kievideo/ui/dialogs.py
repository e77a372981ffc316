"""Non-modal dialogs that coroutines can await.

Never ``exec()`` (or a static QMessageBox helper) inside a coroutine: that starts a nested event
loop under qasync. These helpers ``open()`` the dialog (window-modal sheet, the app loop keeps
running) and resolve a Future from its ``finished`` signal.
"""

from __future__ import annotations

import asyncio

import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QInputDialog, QMessageBox, QPlainTextEdit, QWidget


async def confirm(
    parent: QWidget | None,
    title: str,
    text: str,
    accept_text: str,
    *,
    informative: str = "",
    icon: QMessageBox.Icon = QMessageBox.Icon.Question,
) -> bool:
    """Ask yes/no; True when the user pressed ``accept_text``."""
    box = QMessageBox(parent)
    box.setObjectName("confirmDialog")
    box.setIcon(icon)
    box.setWindowTitle(title)
    box.setText(text)
    if informative:
        box.setInformativeText(informative)
    ok = box.addButton(accept_text, QMessageBox.ButtonRole.AcceptRole)
    ok.setObjectName("confirmAccept")
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    cancel.setObjectName("confirmCancel")
    box.setDefaultButton(cancel)  # money is at stake: Enter must not confirm a paid request
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    fut: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def done(_result: int) -> None:
        if not fut.done():
            fut.set_result(box.clickedButton() is ok)

    box.finished.connect(done)
    box.open()
    try:
        return await fut
    finally:
        if shiboken6.isValid(box) and box.isVisible():  # the awaiting task was cancelled (window closing)
            box.close()


async def ask_text(
    parent: QWidget | None, title: str, label: str, text: str = "", *, multiline: bool = True
) -> str | None:
    """Ask for a line (or paragraph) of text; None when cancelled."""
    dlg = QInputDialog(parent)
    dlg.setObjectName("askTextDialog")
    dlg.setWindowTitle(title)
    dlg.setLabelText(label)
    dlg.setTextValue(text)
    if multiline:
        dlg.setOption(QInputDialog.InputDialogOption.UsePlainTextEditForTextInput)
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    fut: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

    def done(result: int) -> None:
        if not fut.done():
            fut.set_result(dlg.textValue() if result == QDialog.DialogCode.Accepted else None)

    dlg.finished.connect(done)
    dlg.open()
    try:
        return await fut
    finally:
        if shiboken6.isValid(dlg) and dlg.isVisible():
            dlg.close()


def show_error(parent: QWidget | None, title: str, text: str, details: str = "") -> QMessageBox:
    """A non-modal error box (show(), not exec()); returns it so callers/tests can find it."""
    box = QMessageBox(parent)
    box.setObjectName("errorDialog")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(title)
    box.setText(text)
    if details:
        box.setDetailedText(details)
        # Make the details selectable/copyable even on styles that render them read-only oddly.
        for edit in box.findChildren(QPlainTextEdit):
            edit.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    box.setStandardButtons(QMessageBox.StandardButton.Close)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.show()
    return box
