<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name></name>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="249"/>
        <source>Drop images here, paste, or click Browse</source>
        <translation>将图片拖到这里、粘贴，或点击“浏览”</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="69"/>
        <source>%1 (unified API)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="82"/>
        <source>Uploading</source>
        <extracomment>the context of module-level helpers&apos; strings (lupdate&apos;s context for a plain ``tr()`` call)</extracomment>
        <translation>上传中</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="83"/>
        <source>Submitting</source>
        <translation>提交中</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="84"/>
        <source>Queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="85"/>
        <source>Generating</source>
        <translation>生成中</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="86"/>
        <source>Downloading</source>
        <translation>下载中</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="87"/>
        <location filename="../../kievideo/ui/taskmodel.py" line="632"/>
        <source>Done</source>
        <translation>已完成</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="88"/>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="89"/>
        <source>Expired</source>
        <translation>已过期</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="90"/>
        <source>Uncertain</source>
        <translation>状态不明</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="91"/>
        <location filename="../../kievideo/ui/taskmodel.py" line="634"/>
        <source>Stopped</source>
        <translation>已停止</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="101"/>
        <source>kie.ai Veo 3.1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="102"/>
        <source>kie.ai Runway</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="103"/>
        <source>Runway Aleph</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="104"/>
        <source>Unified API</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="115"/>
        <source>Text to video</source>
        <translation>文生视频</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="116"/>
        <source>Image to video</source>
        <translation>图生视频</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="117"/>
        <source>First and last frame</source>
        <translation>首尾帧</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="118"/>
        <source>Reference images</source>
        <translation>参考图</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="119"/>
        <source>Video to video</source>
        <translation>视频生视频</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="126"/>
        <source>Generation</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="127"/>
        <source>1080p</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="128"/>
        <source>4K</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="129"/>
        <source>Extension</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/style.py" line="156"/>
        <source>result expired at the provider</source>
        <translation type="unfinished"></translation>
    </message>
    <message numerus="yes">
        <location filename="../../kievideo/ui/style.py" line="159"/>
        <source>expires in %n d</source>
        <translation type="unfinished">
            <numerusform></numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <location filename="../../kievideo/ui/style.py" line="161"/>
        <source>expires in %n h</source>
        <translation type="unfinished">
            <numerusform></numerusform>
        </translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/taskdelegate.py" line="512"/>
        <location filename="../../kievideo/ui/taskmodel.py" line="531"/>
        <source>(no prompt)</source>
        <extracomment>memoised text measurements per font (about 5 per row, well under 1 MB) laid-out lines per font (2-3 distinct ones per row; ~8 KiB each with their glyphs, plus ~10-25 KiB per colour a layer is drawn in): about 200 rows, under 15 MB row layouts per font (they hold their lines: a few MB at most) at most this many rows above and below the painted ones are prepared ahead (a tall screen) what the layer check draws: overlapping glyphs, ink beyond the line box, our separators (text colour, background): opaque and translucent (the dim lines), light and dark schemes What a row&apos;s texts are made of (see :func:`_row_inputs`).
----------
a job reached a final state during this session (for notifications, auto-play) the set of rows changed (the view shows/hides its empty-state text)</extracomment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/taskdelegate.py" line="527"/>
        <source>upload %1%</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/taskdelegate.py" line="529"/>
        <source>download %1%</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="63"/>
        <source>cost unknown (billed by the provider)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="64"/>
        <source>1 credit</source>
        <translation>1 积分</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="64"/>
        <source>%1 credits</source>
        <translation>%1 积分</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="70"/>
        <source>Task: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="70"/>
        <source>(none)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="71"/>
        <source>Local id: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="72"/>
        <source>Provider: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="75"/>
        <source>State: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="78"/>
        <source>Code: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="80"/>
        <source>Message: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="82"/>
        <location filename="../../kievideo/ui/taskmodel.py" line="612"/>
        <source>Provider said: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="84"/>
        <source>Provider status: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="102"/>
        <source>No tasks yet. Write a prompt or drop images, then press Generate.</source>
        <translation>还没有任务。写下提示词或拖入图片，然后点击“生成”。</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="103"/>
        <source>No tasks match the search or filter.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/taskmodel.py" line="126"/>
        <source>took %1</source>
        <extracomment>rows read per page (the first screen needs ~15; a page is ~10 ms of store reads) at most this many older matches are brought in per search / filter change (Job, Depth, ParentLabel, TimeText) in one tuple: what the delegate paints a row from. Each ``index.data()`` is a Python round trip through the filter proxy, and a scrolled page repaints a dozen rows, so the delegate asks once instead of four times.</extracomment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/taskmodel.py" line="132"/>
        <source>queued %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/taskmodel.py" line="135"/>
        <source>running %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/taskmodel.py" line="144"/>
        <source>taking unusually long</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/taskmodel.py" line="149"/>
        <source>%1 Still trying.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/taskmodel.py" line="583"/>
        <source>%1 of “%2”</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/taskmodel.py" line="608"/>
        <source>Task ID: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/taskmodel.py" line="630"/>
        <source>All tasks</source>
        <extracomment>the state filter combo: (label, states; None = all)</extracomment>
        <translation>全部任务</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/taskmodel.py" line="631"/>
        <source>In progress</source>
        <translation>进行中</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/taskmodel.py" line="633"/>
        <source>Failed or uncertain</source>
        <translation>失败或不明</translation>
    </message>
</context>
<context>
    <name>ErrorBridge</name>
    <message>
        <location filename="../../kievideo/ui/errors.py" line="37"/>
        <source>Something went wrong, but kievideo keeps running. Your tasks are safe.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/errors.py" line="39"/>
        <source>Log file: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/errors.py" line="42"/>
        <source>Unexpected error</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ImageListModel</name>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="171"/>
        <source>First</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="173"/>
        <source>Last</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="175"/>
        <source>Reference %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ImagePanel</name>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="365"/>
        <source>Images</source>
        <extracomment>the list of images changed (count or order)</extracomment>
        <translation>图片</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="370"/>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="374"/>
        <source>Paste image (Ctrl+V)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="375"/>
        <source>Paste image</source>
        <translation type="unfinished">粘贴图片</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="379"/>
        <source>Remove selected images (Delete)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="380"/>
        <source>Remove selected images</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="384"/>
        <source>Move earlier (order matters for first and last frame)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="388"/>
        <source>Move later</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="456"/>
        <source>(not used in text mode)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="458"/>
        <source>1 image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="458"/>
        <source>%1 images</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="461"/>
        <source>%1 images: one task per image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="463"/>
        <source>%1 of %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="465"/>
        <source>%1 of %2–%3</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="495"/>
        <source>Choose images</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="497"/>
        <source>Images (*.jpg *.jpeg *.png *.webp)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="497"/>
        <source>All files (*)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="518"/>
        <source>The clipboard holds an image kievideo cannot read.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="522"/>
        <source>The clipboard holds no image, image file or image link.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="544"/>
        <source>%1: %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="552"/>
        <source>At most %1 images can be added at a time.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="558"/>
        <source>No cache folder to save the pasted image to.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/imagepanel.py" line="569"/>
        <source>Could not save the pasted image to %1.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>KeyRow</name>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="62"/>
        <location filename="../../kievideo/ui/settingsdialog.py" line="118"/>
        <source>paste the API key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="63"/>
        <source>API key for %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="64"/>
        <source>Save</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="66"/>
        <source>Test key</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="68"/>
        <source>Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="104"/>
        <source>No key store in this session.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="111"/>
        <source>A key is stored in the system keyring.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="112"/>
        <source>A key is set for this session only (it will be forgotten on exit).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="113"/>
        <location filename="../../kievideo/ui/settingsdialog.py" line="114"/>
        <source>No key yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="118"/>
        <source>•••••••• (stored)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="125"/>
        <source>Paste a key first.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="140"/>
        <source>Saved in the system keyring.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="142"/>
        <source>Set for this session only: no system keyring is available.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="151"/>
        <source>Testing…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="155"/>
        <source>Test failed: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="159"/>
        <source>The key works. Balance: %1 credits.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="106"/>
        <location filename="../../kievideo/ui/mainwindow.py" line="218"/>
        <source>kievideo</source>
        <extracomment>apply changed unified profiles / polling mode (rebuilds the registry); set by app.py emitted once the asynchronous shutdown has finished and the window is closed a job was submitted from Generate (tests and the status bar use it)</extracomment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="106"/>
        <source> — demo</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="127"/>
        <location filename="../../kievideo/ui/mainwindow.py" line="572"/>
        <source>Credits: …</source>
        <extracomment>close() came before there was an event loop to shut down on (see closeEvent)</extracomment>
        <translation>积分：…</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="134"/>
        <source>Starting kievideo…</source>
        <translation>正在启动 kievideo…</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="193"/>
        <source>Demo mode: simulated, no credits used</source>
        <translation>演示模式：模拟运行，不消耗积分</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="303"/>
        <location filename="../../kievideo/ui/mainwindow.py" line="530"/>
        <source>Generate</source>
        <translation>生成</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="306"/>
        <source>Open library folder</source>
        <translation>打开视频库文件夹</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="308"/>
        <source>Show logs</source>
        <translation>查看日志</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="309"/>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="311"/>
        <source>Paste image</source>
        <translation>粘贴图片</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="314"/>
        <source>Settings…</source>
        <translation>设置…</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="321"/>
        <source>Refresh credits</source>
        <translation>刷新积分</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="327"/>
        <location filename="../../kievideo/ui/mainwindow.py" line="659"/>
        <source>About kievideo</source>
        <translation>关于 kievideo</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="329"/>
        <source>Play/pause</source>
        <translation>播放/暂停</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="338"/>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="344"/>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="347"/>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="350"/>
        <source>&amp;Tools</source>
        <translation>工具(&amp;T)</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="354"/>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="362"/>
        <source>Main toolbar</source>
        <translation>主工具栏</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="483"/>
        <source>One task per image</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="484"/>
        <source>Create %1 tasks, one per image, with the same settings?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="487"/>
        <source>Create %1 tasks (%2)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="490"/>
        <source>Estimated total: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="513"/>
        <source>Submitted 1 task.</source>
        <translation>已提交 1 个任务。</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="515"/>
        <source>Submitted %1 tasks.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="530"/>
        <source>Generate %1 tasks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="531"/>
        <source>The provider bills its own account; kievideo cannot estimate the cost.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="533"/>
        <source>Generate · %1</source>
        <translation>生成 · %1</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="534"/>
        <source>Estimated cost: %1</source>
        <translation>预计费用：%1</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="536"/>
        <source>Generate %1 tasks · %2</source>
        <translation>生成 %1 个任务 · %2</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="538"/>
        <source>%1 tasks, estimated total %2</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="543"/>
        <source>Ctrl+Enter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="576"/>
        <source>Credits: –</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="578"/>
        <source>Could not read the credit balance: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="580"/>
        <source>Credits: %1</source>
        <translation>积分：%1</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="581"/>
        <source>kie.ai credit balance</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="592"/>
        <source>Settings copied into the prompt panel.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="606"/>
        <source>Video ready</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="661"/>
        <source>&lt;b&gt;kievideo %1&lt;/b&gt;</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="664"/>
        <source>A desktop studio for AI video generation: kie.ai Veo 3.1, Runway, Runway Aleph and unified video APIs. Your API keys stay in the system keyring.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/mainwindow.py" line="690"/>
        <source>Something went wrong: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PlayerPanel</name>
    <message>
        <location filename="../../kievideo/ui/player.py" line="53"/>
        <source>Double-click a finished task to play it here.</source>
        <extracomment>emitted with a short message for the status bar (errors, &quot;cannot play&quot;)</extracomment>
        <translation>双击已完成的任务即可在此播放。</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/player.py" line="67"/>
        <location filename="../../kievideo/ui/player.py" line="206"/>
        <source>Play (Space)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/player.py" line="71"/>
        <source>Position</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/player.py" line="76"/>
        <source>Time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/player.py" line="77"/>
        <source>Loop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/player.py" line="80"/>
        <source>Mute</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/player.py" line="87"/>
        <source>Volume</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/player.py" line="90"/>
        <source>Open in system player</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/player.py" line="147"/>
        <source>The video file is missing: %1</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/player.py" line="206"/>
        <source>Pause (Space)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/player.py" line="213"/>
        <source>Cannot play this video: %1</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PromptEdit</name>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="93"/>
        <source>Describe the video: subject, action, camera, light, sound…</source>
        <translation>描述视频：主体、动作、镜头、光线、声音…</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="94"/>
        <source>Prompt</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PromptPanel</name>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="127"/>
        <source>https://… link to the video to transform</source>
        <extracomment>anything that affects the spec changed (the main window refreshes cost/problems) the mode changed (the image panel relabels &quot;First&quot;/&quot;Last&quot;)</extracomment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="131"/>
        <source>random</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="135"/>
        <source>none</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="136"/>
        <location filename="../../kievideo/ui/promptpanel.py" line="362"/>
        <source>Translate prompt to English</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="139"/>
        <source>Upscale (enable_upsample)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="161"/>
        <source>Generate</source>
        <translation>生成</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="165"/>
        <source>Generate (Ctrl+Enter)</source>
        <translation>生成 (Ctrl+Enter)</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="170"/>
        <source>Provider</source>
        <translation>服务商</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="171"/>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="172"/>
        <source>Mode</source>
        <translation>模式</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="173"/>
        <source>Source video</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="177"/>
        <source>Length</source>
        <translation>时长</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="180"/>
        <source>Quality</source>
        <translation>画质</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="184"/>
        <source>Aspect ratio</source>
        <translation>画面比例</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="186"/>
        <source>Seed</source>
        <translation>种子</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="188"/>
        <source>Watermark</source>
        <translation>水印</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="353"/>
        <source>%1 s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="360"/>
        <source>Enhance/translate prompt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="432"/>
        <source>Same seed, similar video. Veo takes 10000–99999; empty means random.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="452"/>
        <source>%1 refuses these combinations</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/promptpanel.py" line="458"/>
        <source>%1 characters</source>
        <translation>%1 个字符</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="182"/>
        <source>Settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="202"/>
        <source>No system keyring is available, so kievideo cannot remember API keys. You can use a key for this session only (it is kept in memory and forgotten when kievideo closes), or install and unlock a keyring (GNOME Keyring, KWallet, macOS Keychain or Windows Credential Manager) and restart.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="210"/>
        <source>API keys (stored only in the system keyring)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="216"/>
        <source>API keys</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="223"/>
        <source>Browse…</source>
        <translation type="unfinished">浏览…</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="228"/>
        <location filename="../../kievideo/ui/settingsdialog.py" line="321"/>
        <source>Download folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="229"/>
        <source>A new folder is used from the next start.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="230"/>
        <source>Show a desktop notification when a task finishes</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="236"/>
        <source>Normal (results arrive quickly)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="237"/>
        <source>Frugal (fewer status requests)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="239"/>
        <source>Status checks</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="240"/>
        <source>General</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="248"/>
        <source>Aggregators that offer the OpenAI-style unified video API (/v1/video/create). Each profile has its own base URL and its own API key.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="262"/>
        <source>name, e.g. myrouter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="266"/>
        <source>Add</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="269"/>
        <source>Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="281"/>
        <source>Unified APIs</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="305"/>
        <source>kie.ai (Veo, Runway, Aleph)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="310"/>
        <source>Use for this session only</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="348"/>
        <source>Use a short name of letters, digits, &apos;.&apos;, &apos;_&apos; or &apos;-&apos; (not &apos;kie&apos;).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="350"/>
        <source>A profile called %1 exists already.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/settingsdialog.py" line="352"/>
        <source>The base URL must start with https:// (or http:// for a local server).</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TaskListPanel</name>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="149"/>
        <source>Search prompt, model, task ID…</source>
        <extracomment>a paid follow-up was created (the window refreshes credits)</extracomment>
        <translation>搜索提示词、模型、任务 ID…</translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="227"/>
        <source>This task has no video yet.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="250"/>
        <source>Play</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="252"/>
        <source>Open folder</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="255"/>
        <source>Copy task ID</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="256"/>
        <source>Copy prompt</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="258"/>
        <source>Copy error details</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="259"/>
        <source>Reuse settings</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="269"/>
        <source>Get 1080p (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="271"/>
        <source>Get 4K (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="273"/>
        <source>Extend… (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="285"/>
        <source>Retry as a new task… (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="293"/>
        <source>Stop watching</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="295"/>
        <source>Resume watching</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="299"/>
        <source>Remove from list</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="306"/>
        <source>Remove and delete the video file…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="326"/>
        <source>Copied to the clipboard.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="335"/>
        <source>Stopped watching. The provider may still finish (and bill) the task.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="351"/>
        <source>Extend video</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="352"/>
        <source>What happens next? (a new paid task, %1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="360"/>
        <source>Get %1 version</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="361"/>
        <source>Request the %1 version of this video?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="362"/>
        <source>Request (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="384"/>
        <source>This sends a NEW paid request with the same settings.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="387"/>
        <source>The first request may have reached the provider and been billed. Check your provider&apos;s task log before retrying.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="392"/>
        <source>Retry as a new task</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="393"/>
        <source>Retry for %1?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="394"/>
        <source>Retry (%1)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="417"/>
        <source>Delete video</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="418"/>
        <source>Remove this task and delete its video file?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="419"/>
        <source>Delete file</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <location filename="../../kievideo/ui/tasklist.py" line="426"/>
        <source>Task removed.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
