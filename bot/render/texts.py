"""What the bot says, in the chat's language where we have it: English, Russian and Ukrainian.

The English sentence is its own key (`tr(lang, "Now following: {names}.", names=…)`), so code reads
as it answers; a sentence with no translation yet is said in English. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES = ("en", "ru", "uk")

# English template -> (Russian, Ukrainian). Placeholders are the same in all three (a test checks).
TRANSLATIONS: Mapping[str, tuple[str, str]] = {
    # --- help ---------------------------------------------------------------------------------
    "<b>feedwatch</b> watches news feeds for the names you follow and sends this chat a digest "
    "of every new mention, in Russian, Ukrainian and English, in any grammatical form.": (
        "<b>feedwatch</b> следит за новостными лентами и присылает в этот чат сводку каждого "
        "нового упоминания имён, за которыми вы следите, — по-русски, по-украински и "
        "по-английски, в любой грамматической форме.",
        "<b>feedwatch</b> стежить за стрічками новин і надсилає в цей чат добірку кожної нової "
        "згадки імен, за якими ви стежите, — українською, російською та англійською, у будь-якій "
        "граматичній формі.",
    ),
    "<b>Watchlists</b>": ("<b>Списки</b>", "<b>Списки</b>"),
    "No watchlists yet.": ("Списков пока нет.", "Списків поки немає."),
    "<b>Try</b>": ("<b>Попробуйте</b>", "<b>Спробуйте</b>"),
    "<b>Commands</b>": ("<b>Команды</b>", "<b>Команди</b>"),
    "follow a shared watchlist": ("подписаться на общий список", "підписатися на спільний список"),
    "make your own": ("создать свой список", "створити власний список"),
    "see what would match": ("проверить, что совпадёт", "перевірити, що збіжиться"),
    "Limits: {lists} watchlists per chat, {terms} terms per list, {feeds} feeds per chat. In "
    "groups only administrators change settings.": (
        "Ограничения: {lists} списков на чат, {terms} терминов в списке, {feeds} лент на чат. В "
        "группах настройки меняют только администраторы.",
        "Обмеження: {lists} списків на чат, {terms} термінів у списку, {feeds} стрічок на чат. У "
        "групах налаштування змінюють лише адміністратори.",
    ),
    # --- who may change what ------------------------------------------------------------------
    "Sorry, in a group only its administrators can change what feedwatch does. Everyone may use "
    "/watchlists, /hits, /stats, /test and /help.": (
        "Извините, в группе настройки feedwatch меняют только её администраторы. Всем доступны "
        "/watchlists, /hits, /stats, /test и /help.",
        "Вибачте, у групі налаштування feedwatch змінюють лише її адміністратори. Усім доступні "
        "/watchlists, /hits, /stats, /test і /help.",
    ),
    "this chat": ("этот чат", "цей чат"),
    "This chat": ("Этот чат", "Цей чат"),
    "the channel {title}": ("канал {title}", "канал {title}"),
    "The channel {title}": ("Канал {title}", "Канал {title}"),
    # --- subscriptions ------------------------------------------------------------------------
    "Now following: {names}.": ("Теперь в подписках: {names}.", "Тепер у підписках: {names}."),
    "No longer following: {names}.": (
        "Больше не в подписках: {names}.",
        "Більше не в підписках: {names}.",
    ),
    "Already following: {names}.": ("Уже в подписках: {names}.", "Уже в підписках: {names}."),
    "Was not following: {names}.": (
        "Не было в подписках: {names}.",
        "Не було в підписках: {names}.",
    ),
    "No watchlist called {names}. Available: {available}. Make your own with /watch NAME TERM, "
    "TERM…": (
        "Нет списка {names}. Есть: {available}. Свой список: /watch ИМЯ ТЕРМИН, ТЕРМИН…",
        "Немає списку {names}. Є: {available}. Власний список: /watch НАЗВА ТЕРМІН, ТЕРМІН…",
    ),
    "New mentions from now on come in {where}'s digest.": (
        "Новые упоминания теперь будут приходить в сводке ({where}).",
        "Нові згадки тепер надходитимуть у добірці ({where}).",
    ),
    "New mentions from now on come to the topic {topic}.": (
        "Новые упоминания теперь будут приходить в тему {topic}.",
        "Нові згадки тепер надходитимуть у тему {topic}.",
    ),
    "in the topic {topic}": ("в теме {topic}", "у темі {topic}"),
    "none yet": ("пока нет", "поки немає"),
    # --- own lists ----------------------------------------------------------------------------
    "Created the watchlist {name} for {where}.": (
        "Создан список {name} ({where}).",
        "Створено список {name} ({where}).",
    ),
    "Added to its terms: {terms}.": ("Добавлены термины: {terms}.", "Додано терміни: {terms}."),
    "Added to its required terms: {terms}.": (
        "Добавлены обязательные термины: {terms}.",
        "Додано обов'язкові терміни: {terms}.",
    ),
    "Added to its exclusions: {terms}.": (
        "Добавлены исключения: {terms}.",
        "Додано винятки: {terms}.",
    ),
    "Already there: {terms}.": ("Уже есть: {terms}.", "Уже є: {terms}."),
    "New mentions come in the digest; /test TEXT tries it on any text.": (
        "Новые упоминания придут в сводке; /test ТЕКСТ проверит список на любом тексте.",
        "Нові згадки прийдуть у добірці; /test ТЕКСТ перевірить список на будь-якому тексті.",
    ),
    "Not done: {reason}.": ("Не сделано: {reason}.", "Не зроблено: {reason}."),
    "Removed the watchlist {name}; its past hits stay in /hits.": (
        "Список {name} удалён; прежние совпадения остаются в /hits.",
        "Список {name} видалено; попередні збіги лишаються в /hits.",
    ),
    # --- refusals from storage ----------------------------------------------------------------
    "a chat can follow at most {count} watchlists; /unsubscribe or /unwatch one first": (
        "чат может следить не более чем за {count} списками; сначала уберите один через "
        "/unsubscribe или /unwatch",
        "чат може стежити щонайбільше за {count} списками; спершу приберіть один через "
        "/unsubscribe або /unwatch",
    ),
    "{label} is a shared watchlist, set up by the operator; follow it with /subscribe {label}, "
    "or choose another name for your own": (
        "{label} — общий список, его настраивает оператор; подпишитесь: /subscribe {label}, или "
        "выберите другое имя для своего",
        "{label} — спільний список, його налаштовує оператор; підпишіться: /subscribe {label}, "
        "або оберіть іншу назву для власного",
    ),
    "this chat has no watchlist {label}; create it first with /watch {label} TERM": (
        "в этом чате нет списка {label}; сначала создайте его: /watch {label} ТЕРМИН",
        "у цьому чаті немає списку {label}; спершу створіть його: /watch {label} ТЕРМІН",
    ),
    "a watchlist holds at most {limit} terms; {label} has {held}, and {adding} more would be too "
    "many": (
        "в списке может быть не более {limit} терминов; в {label} их {held}, ещё {adding} — "
        "слишком много",
        "у списку може бути щонайбільше {limit} термінів; у {label} їх {held}, ще {adding} — "
        "забагато",
    ),
    "this chat has no watchlist {label}": (
        "в этом чате нет списка {label}",
        "у цьому чаті немає списку {label}",
    ),
    "{label} is a shared watchlist, set up by the operator; /unsubscribe {label} stops it here": (
        "{label} — общий список, его настраивает оператор; /unsubscribe {label} отключит его здесь",
        "{label} — спільний список, його налаштовує оператор; /unsubscribe {label} вимкне його тут",
    ),
    "a chat can add at most {count} feeds; /removefeed one first": (
        "чат может добавить не более {count} лент; сначала уберите одну через /removefeed",
        "чат може додати щонайбільше {count} стрічок; спершу приберіть одну через /removefeed",
    ),
    # --- delivery settings --------------------------------------------------------------------
    "{where} now gets each hit as it comes.": (
        "{where}: каждое совпадение приходит сразу.",
        "{where}: кожен збіг надходить одразу.",
    ),
    "{where} now gets a digest every {interval}.": (
        "{where}: сводка каждые {interval}.",
        "{where}: добірка кожні {interval}.",
    ),
    "No quiet hours: digests come whenever they are due.": (
        "Тихих часов нет: сводки приходят, когда подошло время.",
        "Тихих годин немає: добірки надходять, коли настав час.",
    ),
    "Quiet from {start} to {end} ({zone}); what comes then is sent when they end. /tz Area/City "
    "sets the time zone.": (
        "Тихо с {start} до {end} ({zone}); всё, что придёт в это время, будет отправлено после. "
        "Часовой пояс: /tz Регион/Город.",
        "Тихо з {start} до {end} ({zone}); усе, що надійде в цей час, буде надіслано після. "
        "Часовий пояс: /tz Регіон/Місто.",
    ),
    "Time zone {zone}: it is {time} there now.": (
        "Часовой пояс {zone}: там сейчас {time}.",
        "Часовий пояс {zone}: там зараз {time}.",
    ),
    "Paused: nothing is sent until /resume. Hits are still collected, and offered when you "
    "resume.": (
        "Пауза: ничего не отправляется до /resume. Совпадения собираются и будут предложены "
        "после возобновления.",
        "Пауза: нічого не надсилається до /resume. Збіги збираються й будуть запропоновані після "
        "відновлення.",
    ),
    "Usage: /spikes on|off": ("Использование: /spikes on|off", "Використання: /spikes on|off"),
    "Spike alerts are on for {where}: when a watchlist it follows gets far more hits in an hour "
    "than usual at that hour, an alert comes at once (silently in quiet hours), at most one per "
    "watchlist in {hours} hours. /spikes off turns them off.": (
        "Оповещения о всплесках включены ({where}): когда у списка из подписок за час "
        "совпадений намного больше обычного для этого часа, оповещение приходит сразу (в тихие "
        "часы — без звука), не чаще одного на список за {hours} ч. Выключить: /spikes off.",
        "Сповіщення про сплески ввімкнено ({where}): коли в списку з підписок за годину збігів "
        "набагато більше, ніж зазвичай о цій порі, сповіщення надходить одразу (у тихі години — "
        "без звуку), не частіше одного на список за {hours} год. Вимкнути: /spikes off.",
    ),
    "Spike alerts are off for {where}. /spikes on sends an alert at once when a watchlist gets "
    "far more hits in an hour than usual at that hour.": (
        "Оповещения о всплесках выключены ({where}). /spikes on — оповещение сразу, когда у "
        "списка за час совпадений намного больше обычного для этого часа.",
        "Сповіщення про сплески вимкнено ({where}). /spikes on — сповіщення одразу, коли в "
        "списку за годину збігів набагато більше, ніж зазвичай о цій порі.",
    ),
    "Delivery is on.": ("Доставка включена.", "Доставку ввімкнено."),
    "Delivery is on. {held} items came in while paused; send them now, or skip them (they stay "
    "in /hits).": (
        "Доставка включена. За время паузы пришло {held}; отправить их сейчас или пропустить "
        "(они останутся в /hits)?",
        "Доставку ввімкнено. За час паузи надійшло {held}; надіслати їх зараз чи пропустити "
        "(вони лишаться в /hits)?",
    ),
    "Send the {held}": ("Отправить ({held})", "Надіслати ({held})"),
    "Skip them": ("Пропустить", "Пропустити"),
    "Skipped {count} held items; /hits lists them.": (
        "Пропущено: {count}; они есть в /hits.",
        "Пропущено: {count}; вони є в /hits.",
    ),
    "Nothing new since the last digest.": (
        "Нового с прошлой сводки нет.",
        "Нового від минулої добірки немає.",
    ),
    "The digest could not be sent: {reason}": (
        "Сводку не удалось отправить: {reason}",
        "Добірку не вдалося надіслати: {reason}",
    ),
    "No hits for {where} yet.": ("Совпадений пока нет ({where}).", "Збігів поки немає ({where})."),
    "<b>The last {count} hits</b>": (
        "<b>Последние совпадения: {count}</b>",
        "<b>Останні збіги: {count}</b>",
    ),
    "None of {scope} would match.": (
        "Ничего не совпадёт ({scope}).",
        "Нічого не збіжиться ({scope}).",
    ),
    "There is no command {command}. Commands: {known}": (
        "Команды {command} нет. Команды: {known}",
        "Команди {command} немає. Команди: {known}",
    ),
    # --- /stats -------------------------------------------------------------------------------
    "Usage: /stats [NAME…] [DAYS]: a chart of the hits of the chat's watchlists, or of those "
    "named, over the last DAYS days (1 to {most}, {default} if not given).": (
        "Использование: /stats [ИМЯ…] [ДНИ]: график совпадений списков чата или названных "
        "списков за последние ДНИ дней (от 1 до {most}, по умолчанию {default}).",
        "Використання: /stats [НАЗВА…] [ДНІ]: графік збігів списків чату або названих списків за "
        "останні ДНІ днів (від 1 до {most}, типово {default}).",
    ),
    "{where} follows no watchlist yet; /stats NAME charts any of these: {available}.": (
        "{where} пока не следит ни за одним списком; /stats ИМЯ покажет любой из них: {available}.",
        "{where} поки не стежить за жодним списком; /stats НАЗВА покаже будь-який із них: "
        "{available}.",
    ),
    "No watchlist called {names}. /stats can chart: {available}.": (
        "Нет списка {names}. /stats может показать: {available}.",
        "Немає списку {names}. /stats може показати: {available}.",
    ),
    "No hits for {where} from {start} to {end} ({zone}).": (
        "С {start} по {end} совпадений нет ({where}, {zone}).",
        "З {start} по {end} збігів немає ({where}, {zone}).",
    ),
    "Hits per day, {start} – {end} ({zone})": (
        "Совпадения по дням, {start} – {end} ({zone})",
        "Збіги по днях, {start} – {end} ({zone})",
    ),
    "Hits per hour, {start} – {end} ({zone})": (
        "Совпадения по часам, {start} – {end} ({zone})",
        "Збіги по годинах, {start} – {end} ({zone})",
    ),
    "hits": ("совпадения", "збіги"),
    "{count} other lists": ("другие списки: {count}", "інші списки: {count}"),
    "Total: {total}.": ("Всего: {total}.", "Усього: {total}."),
    "Busiest day: {when}, hits: {count}.": (
        "Больше всего за день: {when}, совпадений: {count}.",
        "Найбільше за день: {when}, збігів: {count}.",
    ),
    "Busiest hour: {when}, hits: {count}.": (
        "Больше всего за час: {when}, совпадений: {count}.",
        "Найбільше за годину: {when}, збігів: {count}.",
    ),
    # --- the command menu ---------------------------------------------------------------------
    "register this chat and show this help": (
        "зарегистрировать чат и показать справку",
        "зареєструвати чат і показати довідку",
    ),
    "show this help": ("показать справку", "показати довідку"),
    "follow shared watchlists, e.g. /subscribe rvc kursk": (
        "подписаться на общие списки, напр. /subscribe rvc kursk",
        "підписатися на спільні списки, напр. /subscribe rvc kursk",
    ),
    "stop following watchlists": ("отписаться от списков", "відписатися від списків"),
    "make your own watchlist or add terms to it": (
        "создать свой список или добавить в него термины",
        "створити власний список або додати до нього терміни",
    ),
    "an item with one of these is not a hit": (
        "новость с таким словом не считается совпадением",
        "новина з таким словом не вважається збігом",
    ),
    "an item must also have one of these": (
        "в новости должно быть и одно из этих слов",
        "у новині має бути й одне з цих слів",
    ),
    "remove terms, or the whole list": (
        "убрать термины или весь список",
        "прибрати терміни або весь список",
    ),
    "what this chat follows, with buttons": (
        "на что подписан чат, с кнопками",
        "на що підписаний чат, з кнопками",
    ),
    "which watchlists would match TEXT, and the words that did": (
        "какие списки совпадут с ТЕКСТОМ и по каким словам",
        "які списки збіжаться з ТЕКСТОМ і за якими словами",
    ),
    "the last N hits (10)": ("последние N совпадений (10)", "останні N збігів (10)"),
    "a chart of the hits per day (per hour for 1–2 days)": (
        "график совпадений по дням (по часам за 1–2 дня)",
        "графік збігів по днях (по годинах за 1–2 дні)",
    ),
    "send what is pending now": ("прислать накопившееся сейчас", "надіслати накопичене зараз"),
    "how often the digest comes (5m … 7d)": (
        "как часто приходит сводка (5m … 7d)",
        "як часто надходить добірка (5m … 7d)",
    ),
    "no messages in these hours": ("без сообщений в эти часы", "без повідомлень у ці години"),
    "this chat's time zone": ("часовой пояс чата", "часовий пояс чату"),
    "the feeds, with their health": ("ленты и их состояние", "стрічки та їхній стан"),
    "add a feed for this chat": ("добавить ленту для этого чата", "додати стрічку для цього чату"),
    "remove one of this chat's feeds": ("убрать ленту этого чата", "прибрати стрічку цього чату"),
    "add the feeds of an OPML file (reply to it)": (
        "добавить ленты из файла OPML (ответьте на него)",
        "додати стрічки з файлу OPML (дайте відповідь на нього)",
    ),
    "an alert at once when a watchlist's hits jump": (
        "оповещение сразу, когда совпадений в списке резко больше",
        "сповіщення одразу, коли збігів у списку різко більше",
    ),
    "stop delivery for now": ("приостановить доставку", "призупинити доставку"),
    "deliver again; what came meanwhile is offered": (
        "возобновить доставку; накопившееся будет предложено",
        "відновити доставку; накопичене буде запропоновано",
    ),
    "this chat's watchlists as a TOML file": ("списки чата файлом TOML", "списки чату файлом TOML"),
    "read watchlists from a TOML file (attach it, or reply to it)": (
        "загрузить списки из файла TOML (приложите его или ответьте на него)",
        "завантажити списки з файлу TOML (додайте його або дайте відповідь на нього)",
    ),
    "set up a channel you administer from this chat": (
        "настраивать отсюда канал, где вы администратор",
        "налаштовувати звідси канал, де ви адміністратор",
    ),
    # --- /importopml ---------------------------------------------------------------------------
    "Usage: reply /importopml to an OPML file (the list of feeds a feed reader exports), or send "
    "the file with /importopml as its caption.": (
        "Использование: ответьте /importopml на файл OPML (список лент, который выгружает "
        "программа для чтения лент) или отправьте файл с подписью /importopml.",
        "Використання: дайте відповідь /importopml на файл OPML (список стрічок, який експортує "
        "програма для читання стрічок) або надішліть файл із підписом /importopml.",
    ),
    "That file is too large for an OPML list (over 1 MiB).": (
        "Файл слишком велик для списка OPML (больше 1 МиБ).",
        "Файл завеликий для списку OPML (понад 1 МіБ).",
    ),
    "An OPML import is under way already ({where}); its summary comes when it is done.": (
        "Импорт OPML уже идёт ({where}); итог придёт, когда он закончится.",
        "Імпорт OPML уже триває ({where}); підсумок надійде, коли він завершиться.",
    ),
    "The file could not be downloaded from Telegram.": (
        "Не удалось скачать файл из Telegram.",
        "Не вдалося завантажити файл із Telegram.",
    ),
    "Nothing was imported: {reason}.": (
        "Ничего не импортировано: {reason}.",
        "Нічого не імпортовано: {reason}.",
    ),
    "That OPML file lists no feeds.": (
        "В этом файле OPML нет лент.",
        "У цьому файлі OPML немає стрічок.",
    ),
    "Checked {done} of {total} feeds…": (
        "Проверено лент: {done} из {total}…",
        "Перевірено стрічок: {done} з {total}…",
    ),
    "it could not be checked; the error is logged": (
        "её не удалось проверить; ошибка записана в журнал",
        "її не вдалося перевірити; помилку записано в журнал",
    ),
    "OPML import ({where}): {added} added, {already} already there, {refused} refused.": (
        "Импорт OPML ({where}): добавлено {added}, уже были {already}, отклонено {refused}.",
        "Імпорт OPML ({where}): додано {added}, уже були {already}, відхилено {refused}.",
    ),
    "The new feeds are read from the next poll; /feeds lists them.": (
        "Новые ленты читаются со следующего опроса; список — в /feeds.",
        "Нові стрічки читаються з наступного опитування; список — у /feeds.",
    ),
    "<b>Refused</b>": ("<b>Отклонены</b>", "<b>Відхилено</b>"),
    "…and {count} more.": ("…и ещё {count}.", "…і ще {count}."),
    # Why an OPML entry is not imported (bot/sources/opml.py).
    "not an http or https URL": ("адрес не http и не https", "адреса не http і не https"),
    "the URL has no host": ("в адресе нет хоста", "в адресі немає хоста"),
    "not a valid URL": ("недопустимый адрес", "неприпустима адреса"),
    "the URL is longer than 2048 characters": (
        "адрес длиннее 2048 символов",
        "адреса довша за 2048 символів",
    ),
    "the URL contains spaces or control characters": (
        "в адресе есть пробелы или управляющие символы",
        "в адресі є пробіли або керівні символи",
    ),
    "a link to another subscription list, not a feed": (
        "ссылка на другой список подписок, а не лента",
        "посилання на інший список підписок, а не стрічка",
    ),
    "no feed URL (xmlUrl), only a web page": (
        "нет адреса ленты (xmlUrl), только веб-страница",
        "немає адреси стрічки (xmlUrl), лише вебсторінка",
    ),
    # Why an OPML file cannot be read (bot/sources/opml.py).
    "the file is larger than {size}": ("файл больше {size}", "файл більший за {size}"),
    "the file is empty": ("файл пуст", "файл порожній"),
    "the file cannot be read as OPML": ("файл не читается как OPML", "файл не читається як OPML"),
    "the file is not an OPML document": ("это не документ OPML", "це не документ OPML"),
    "the file names an unknown encoding, {encoding}": (
        "в файле указана неизвестная кодировка {encoding}",
        "у файлі вказано невідоме кодування {encoding}",
    ),
    "the file is not valid {encoding} text": (
        "файл — не корректный текст в кодировке {encoding}",
        "файл — не коректний текст у кодуванні {encoding}",
    ),
    "the file nests elements more than {depth} deep": (
        "в файле элементы вложены глубже {depth} уровней",
        "у файлі елементи вкладено глибше за {depth} рівнів",
    ),
    "the file is not well-formed XML (line {line})": (
        "файл — не корректный XML (строка {line})",
        "файл — не коректний XML (рядок {line})",
    ),
    # --- what a command reads, and what it quotes back (bot/core/limits.py) ------------------------
    "The text after /{command} is too long: at most {limit} characters.": (
        "Текст после /{command} слишком длинный. Максимум символов: {limit}.",
        "Текст після /{command} задовгий. Максимум символів: {limit}.",
    ),
    "{names} and {count} more": ("{names} и ещё {count}", "{names} і ще {count}"),
    "Removed from {name}: {terms}.": (
        "Удалено из списка {name}: {terms}.",
        "Вилучено зі списку {name}: {terms}.",
    ),
    "Not in {name}: {terms}.": ("В списке {name} нет: {terms}.", "У списку {name} немає: {terms}."),
    # Why /import refuses a file unread (bot/ops/config.py).
    "the file nests arrays and tables too deep (line {line}): at most {depth} levels": (
        "в файле массивы и таблицы вложены слишком глубоко (строка {line}): не больше {depth} "
        "уровней",
        "у файлі масиви й таблиці вкладено надто глибоко (рядок {line}): найбільша глибина — "
        "{depth}",
    ),
    # --- digests ------------------------------------------------------------------------------
    "feedwatch · 1 new mention": ("feedwatch · новое упоминание", "feedwatch · нова згадка"),
    "feedwatch · {count} new mentions": (
        "feedwatch · новых упоминаний: {count}",
        "feedwatch · нових згадок: {count}",
    ),
    "feedwatch · {count} new mentions, too many for one digest": (
        "feedwatch · новых упоминаний: {count}, слишком много для одной сводки",
        "feedwatch · нових згадок: {count}, забагато для однієї добірки",
    ),
    "{title} (continued)": ("{title} (продолжение)", "{title} (продовження)"),
    "updates to stories already sent: {count}": (
        "новое к уже отправленным историям: {count}",
        "нове до вже надісланих історій: {count}",
    ),
    "Updates to stories already sent": (
        "Новое к уже отправленным историям",
        "Нове до вже надісланих історій",
    ),
    "Update to a story already sent": (
        "Новое к уже отправленной истории",
        "Нове до вже надісланої історії",
    ),
    "also {names}": ("также {names}", "також {names}"),
    "also in: {outlets}": ("также в: {outlets}", "також у: {outlets}"),
    "(untitled)": ("(без заголовка)", "(без заголовка)"),
    "The newest {count}": ("Последние {count}", "Останні {count}"),
    "The rest: /hits 50.": ("Остальное: /hits 50.", "Решта: /hits 50."),
    # --- spike alerts (bot/trends/spikes.py) ---------------------------------------------------------
    "Spike: {title}": ("Всплеск: {title}", "Сплеск: {title}"),
    "{count} hits in the last hour; usually {usual} at this hour.": (
        "Совпадений за последний час: {count}; обычно в это время: {usual}.",
        "Збігів за останню годину: {count}; зазвичай о цій порі: {usual}.",
    ),
    "1 outlet": ("1 издание", "1 видання"),
    "{count} outlets": ("изданий: {count}", "видань: {count}"),
    "…and {count} more stories": ("…и ещё сюжетов: {count}", "…і ще сюжетів: {count}"),
    "The feed {feed} has failed since {since}: {reason}. feedwatch keeps trying it, at most once "
    "a day; /feeds shows its health.": (
        "Лента {feed} не читается с {since}: {reason}. feedwatch пробует её снова, не чаще раза в "
        "сутки; состояние — в /feeds.",
        "Стрічка {feed} не читається з {since}: {reason}. feedwatch пробує її знову, не частіше "
        "разу на добу; стан — у /feeds.",
    ),
}


def language_of(code: str | None) -> str:
    """The language we answer in for a Telegram `language_code` (IETF tag such as "ru" or "uk-UA")."""
    base = (code or "").split("-")[0].lower()
    return base if base in LANGUAGES else "en"


def tr(lang: str, template: str, **params: object) -> str:
    """`template` in `lang` (English when there is no translation), with `params` filled in; the
    caller escapes what goes into HTML."""
    translated = TRANSLATIONS.get(template)
    if translated is not None and lang in ("ru", "uk"):
        template = translated[0 if lang == "ru" else 1]
    return template.format(**params) if params else template
