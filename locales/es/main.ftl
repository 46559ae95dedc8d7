# Las páginas de casevault en español. Cada id está también en locales/en/main.ftl
# (una prueba lo comprueba); los argumentos se escriben { $name }. Se trata a la
# persona de "usted".

## El marco de cada página
skip-to-main = Ir al contenido principal
nav-main = Menú principal
nav-cases = Casos
nav-shared-cases = Casos compartidos
nav-coming-up = Próximas fechas
nav-office = Oficina
nav-users = Usuarios
nav-audit = Registro de auditoría
your-account = Su cuenta
signed-in-as = Sesión iniciada como
sign-out = Cerrar sesión
footer-keys = casevault guarda cada expediente cifrado con claves que tiene su oficina.
footer-zone = Las horas se muestran en la zona horaria { $zone }.
switch-language = English
switch-language-label = Read in English
waiting-banner = Su cuenta está esperando que un supervisor de su oficina la confirme; hasta entonces no puede abrir expedientes de clientes.
waiting-title = Esperando confirmación
waiting-body = Los expedientes de clientes se abren cuando un supervisor de su oficina haya confirmado su cuenta. Pídale a su supervisor que la confirme en su página de Casos; usted no tiene que hacer nada más.
title-suffix = casevault

## Funciones
role-caseworker = gestor o gestora de casos
role-partner = abogado o abogada asociada
role-admin = administrador o administradora de la oficina
role-superadmin = operador o operadora de la coalición
role-auditor = auditor o auditora
role-user = usuario

## Iniciar sesión
login-title = Iniciar sesión
login-heading = Iniciar sesión en casevault
login-username = Nombre de usuario
login-password = Contraseña
login-code = Código de 6 dígitos de su aplicación de autenticación
login-code-help = Abra la aplicación de autenticación en su teléfono y escriba el código que muestra para casevault. ¿Perdió su teléfono? Escriba uno de sus códigos de recuperación. Si todavía no ha configurado una aplicación, deje este campo vacío.
login-submit = Iniciar sesión
login-passkey-heading = O inicie sesión con una llave de acceso
login-passkey-help = Una llave de acceso en este dispositivo o en su teléfono reemplaza la contraseña y el código. Puede agregar una en la página de su cuenta después de iniciar sesión.
login-passkey-button = Iniciar sesión con una llave de acceso
login-failed = No funcionó. Revise su nombre de usuario, su contraseña y el código de 6 dígitos, y vuelva a intentarlo.

## Páginas de error
error-back-cases = Ir a sus casos
error-sign-in-again = Volver a iniciar sesión
error-not-found-title = No se encontró
error-not-found-body = No encontramos esa página o ese caso. Puede que nunca haya existido, que se haya eliminado o que no se haya compartido con usted.
error-not-found-hint = Si alguien le envió este enlace, pídale que confirme que el caso está compartido con su cuenta.
error-csrf-title = Este formulario venció
error-csrf-body = Por su seguridad no lo procesamos: el formulario no traía el código de seguridad de su sesión actual. Esto pasa cuando una página quedó abierta desde un inicio de sesión anterior, o cuando otro sitio web intentó enviarlo.
error-csrf-hint = Regrese, vuelva a cargar la página e inténtelo de nuevo. No se cambió nada.
error-bad-form-title = No se pudo leer el formulario
error-bad-form-body = Falta algo de lo que se envió o es demasiado largo. Regrese, revise el formulario e inténtelo de nuevo. No se cambió nada.
error-method-title = Eso no se puede hacer aquí
error-method-body = Esta página existe, pero no para lo que pidió el navegador. No se cambió nada.
error-sealed-title = Esta oficina está sellada
error-sealed-body = La oficina { $office } está sellada: sus claves de cifrado se retiraron del servidor, así que nadie puede leer sus expedientes hasta que se abra de nuevo.
error-sealed-who = Solo quien guarda una clave de la oficina { $office } puede abrirla, con su frase de contraseña y su código de autenticación. Si no lo esperaba, comuníquese con el administrador de su oficina.
error-sealed-still = El personal de la oficina todavía puede abrir casos nuevos y agregar documentos: se cifran de inmediato y se pueden leer cuando la oficina se abra.
error-throttled-title = Demasiados intentos
error-throttled-body = Hubo demasiados intentos fallidos de iniciar sesión. Por seguridad, el inicio de sesión está en pausa por un rato.
error-throttled-wait = Vuelva a intentarlo en { $wait }.
error-throttled-hint = Si olvidó su contraseña o perdió su teléfono, pídale al administrador de su oficina que la restablezca.
error-back-sign-in = Volver a iniciar sesión
error-forbidden-title = No permitido
error-forbidden-body = Su cuenta no tiene permiso para hacer eso. Si cree que debería tenerlo, pregúntele al administrador de su oficina.
error-server-title = Algo salió mal de nuestro lado
error-failed-title = No funcionó
error-failed-body = No se cambió nada. Regrese e inténtelo de nuevo; si sigue pasando, avísele al administrador de su oficina y cite el mensaje de arriba.
wait-seconds = { $n } segundos
wait-minute = 1 minuto
wait-minutes = { $n } minutos

## Lo que dice una acción rechazada
words-invalid-code = Ese código no funcionó. Los códigos cambian cada 30 segundos y cada uno sirve una sola vez: espere el siguiente código e inténtelo de nuevo.
words-wrong-passphrase = Esa frase de contraseña no abre esta oficina. Una frase que hizo casevault tiene cinco grupos de cinco letras minúsculas y números unidos por guiones, como k7m2p-q9x4a-…; compare cada grupo con el papel e inténtelo de nuevo.
words-step-up = Escriba el código de 6 dígitos de su aplicación de autenticación.
words-legal-hold = Esto está bajo una retención legal, así que no se puede eliminar nada. Si el asunto legal terminó, levante primero la retención.
words-sealed = La oficina { $office } está sellada. Pídale a quien guarda una clave de { $office } que la abra.
words-forbidden = Su cuenta no tiene permiso para hacer eso.
words-passkey-required = Esta cuenta inicia sesión con su llave de acceso: elija “Iniciar sesión con una llave de acceso” abajo. Si la perdió, pídale a su administrador que restablezca su cuenta.
words-busy = El servidor está ocupado. Vuelva a intentarlo en { $wait }.
words-network-throttled = Hubo demasiados inicios de sesión fallidos desde su red. Podrá iniciar sesión desde ella otra vez en { $wait }; un navegador que ya inició sesión antes no se ve afectado.
words-throttled = Hubo demasiados intentos fallidos en esta cuenta. Esta cuenta podrá intentarlo otra vez en { $wait }; las demás cuentas no se ven afectadas.
words-store-unavailable = No se puede llegar al almacén de documentos en este momento, así que no se guardó ni cambió nada. Vuelva a intentarlo en un minuto.
words-internal = Algo salió mal en el servidor (referencia { $id }). No se cambió nada.

## Después de un cambio (el aviso arriba de la página siguiente)
done-case-created = Se abrió el caso.
done-uploaded = El documento se subió y se cifró.
done-shared = Se compartió el caso. El abogado asociado puede verlo hasta la fecha indicada.
done-passkey-added = Se agregó la llave de acceso. La próxima vez, elija “Iniciar sesión con una llave de acceso”.
done-passkey-removed = Se quitó la llave de acceso. Ya no puede iniciar sesión en su cuenta.
done-share-changed = Este abogado asociado ya tenía el caso: ahora su acceso permite lo que usted eligió, hasta la fecha indicada.
done-link-revoked = Se revocó el enlace. Ya no recibe más archivos.
done-revoked = Se revocó el acceso. El abogado asociado ya no puede ver este caso.
done-sealed = La oficina está sellada. Nadie puede leer sus expedientes hasta que se abra.
done-unsealed = La oficina está abierta. Sus expedientes se pueden leer otra vez.
done-sealed-all = Todas las oficinas que usted administra están selladas.
done-time-zone = Se guardó la zona horaria. Las páginas de esta oficina ahora muestran las horas en ella.
done-holder-invited = Se invitó al administrador. Esa persona configura su propia clave desde esta página (Quién guarda la clave de la oficina).
done-holder-removed = Se quitó a quien guardaba la clave y se reemplazó la clave de la oficina: su frase de contraseña ya no abre nada.
done-holder-passkey = Ahora su llave de acceso abre la oficina: en esta página, “Abrir con mi llave de acceso”. Su frase de contraseña también sigue funcionando.
done-rotated = Se reemplazó la clave de la oficina. Cada caso quedó protegido con la clave nueva; cada persona conserva su propia frase de contraseña.
done-user-created = Se creó la cuenta. Dele a la persona su nombre de usuario y contraseña; configurará su aplicación de autenticación la primera vez que inicie sesión. Una cuenta de gestor de casos no abre ningún caso hasta que un supervisor de la oficina la confirme.
done-disabled = La cuenta está desactivada y se cerraron todas sus sesiones.
done-enabled = La cuenta puede iniciar sesión otra vez.
done-password-reset = Se cambió la contraseña y se cerraron todas las sesiones de la persona.
done-totp-reset = Se restableció la autenticación. La persona vuelve a configurar su aplicación la próxima vez que inicie sesión (un gestor de casos espera entonces una nueva confirmación).
done-password-changed = Su contraseña cambió. Se cerraron sus sesiones en todos los demás dispositivos y se olvidaron los navegadores recordados para su cuenta.
done-signed-out = Cerró su sesión.
done-access-confirmed = La cuenta está confirmada: ahora puede abrir los casos que su función permite.
done-held = La retención legal está activa. No se puede eliminar nada de este caso hasta que se levante.
done-lifted = Se levantó la retención legal. El caso se puede eliminar otra vez (a mano o por el calendario de conservación).
done-office-held = Toda la oficina está bajo retención legal. No se puede eliminar ninguno de sus casos hasta que se levante.
done-office-lifted = Se levantó la retención legal de toda la oficina.
done-purged = El caso se eliminó para siempre. Sus claves se destruyeron: nadie puede leerlo ya.
done-office-purged = La oficina se eliminó para siempre con todos sus casos, documentos y cuentas, incluida la suya.
done-closed = El caso está cerrado. Se puede leer hasta que termine el período de conservación.
done-details-saved = Se guardaron los datos. La versión anterior queda en el historial.
done-details-unchanged = No se cambió nada: los datos son los mismos que antes.
done-note-added = Se agregó la nota.
done-note-corrected = Se agregó la corrección. La nota original se conserva, marcada como corregida.
done-event-added = Se agregó la fecha. Aparece en la página de Próximas fechas.
done-event-changed = Se cambió la fecha. La anterior se conserva en el caso, marcada como movida.
done-renamed = Se cambió el nombre del documento.
done-document-deleted = El documento se eliminó para siempre. Su clave se destruyó: nadie puede leerlo ya.
done-language = Las páginas ahora están en español.

## La lista de casos (cases.rs)
cases-title = Casos
cases-heading = Casos
cases-heading-partner = Casos compartidos con usted
cases-sealed-heading = La oficina { $office } está sellada
cases-sealed-body = Los nombres de los clientes y los documentos están ocultos hasta que un administrador de la oficina { $office } la abra. Usted todavía puede abrir casos nuevos; se cifran de inmediato.
cases-search-label = Buscar un caso por número A o por cualquier palabra del nombre del cliente
cases-search-button = Buscar
cases-show-all = Ver todos los casos
cases-search-sealed = No se puede buscar mientras la oficina esté sellada.
cases-search-none = Ningún caso tiene ese número A, ni un nombre de cliente con todas esas palabras (palabras completas, en cualquier orden; no importan las mayúsculas ni los acentos).
cases-none-partner = Por ahora no hay ningún caso compartido con usted.
cases-none-waiting = Los casos de su oficina aparecerán aquí cuando se confirme su cuenta.
cases-none = Todavía no hay casos.
cases-table-caption = Sus casos
cases-col-client = Cliente
cases-col-office = Oficina
cases-col-access = Su acceso
cases-col-shared-until = Compartido hasta
cases-col-opened = Abierto el
cases-col-status = Estado
cases-sealed-case = Caso sellado { $id }
cases-access-upload = Ver y agregar documentos
cases-access-read = Solo ver
cases-status-closed = Cerrado
cases-status-open = Abierto
cases-tag-hold = Retención legal
cases-tag-sealed = Sellado
cases-news-one = 1 archivo nuevo del cliente
cases-news-many = { $n } archivos nuevos del cliente
cases-pager-label = Más casos
cases-newest = ← Casos más recientes
cases-older = Casos anteriores →
cases-search-needs-unsealed = Para buscar, la oficina tiene que estar abierta. Pídale a un administrador de su oficina que la abra.
new-case-heading = Abrir un caso nuevo
new-case-client-name = Nombre completo del cliente
new-case-a-number = Número A (opcional)
new-case-a-number-help = 8 o 9 dígitos, con o sin la A, guiones o espacios; por ejemplo, A-012-345-678.
new-case-dob = Fecha de nacimiento (opcional)
new-case-dob-help = Año-mes-día; por ejemplo, 1990-03-21 (puede que su navegador muestre un calendario).
new-case-country = País de nacimiento (opcional)
new-case-notes = Notas (opcional)
new-case-submit = Abrir caso

## Cuentas que confirma un supervisor, en la lista de casos (confirm.rs)
pending-heading = Cuentas que esperan su confirmación
pending-intro = Un administrador creó estas cuentas, las volvió a activar o les dio una contraseña o una autenticación nuevas. No pueden abrir ningún caso hasta que un supervisor confirme que pertenecen a la persona que usted espera. Si no sabe por qué aparece una aquí, no la confirme: pregúntele a su administrador.
